"""`HpswClient`: zeep over HTTP Basic, one service proxy per HPSW interface.

The only module of the connector that talks to the network. It loads the full WSDL under
the configured base, rewrites every port's address to that base keeping the path (the
WSDL's `soap:address` may name an internal host, API notes §2), and translates zeep and
requests errors here, once: 401 → `AuthError`; a SOAP Fault → `HpswFault` (unknown key,
empty lookup, module off: read as "not found" by callers); connection failures and
timeouts → `HpswUnreachable`, retried with back-off for reads only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import requests
import zeep
import zeep.exceptions
import zeep.helpers
from pydantic import SecretStr
from requests.auth import HTTPBasicAuth
from zeep.transports import Transport

from rollbridge.errors import AuthError, ConfigError, SourceError
from rollbridge.sources.hyperplanning.parse import as_items

READ_ATTEMPTS = 3
BACKOFF_S = 0.5


class HpswFault(SourceError):
    """HPSW answered with a SOAP Fault: an unknown key, an empty lookup, a module off."""


class HpswUnreachable(SourceError):
    """HPSW could not be reached or did not answer in time (worth retrying later)."""


def wsdl_url_of(url: str) -> str:
    """The full WSDL under the customer's base URL (`…/hpsw/wsdl`)."""
    base = url.rstrip("/")
    if base.endswith("/wsdl"):
        return base
    if "/hpsw" in urlsplit(base).path:
        return base + "/wsdl"
    return base + "/hpsw/wsdl"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _plain(value: object) -> object:
    """zeep objects → dicts and lists (`parse.py` reads those)."""
    return zeep.helpers.serialize_object(value, dict)  # type: ignore[no-untyped-call]


class HpswClient:
    """One HPSW instance (one base); every call goes through `call`."""

    def __init__(
        self,
        url: str,
        username: str,
        password: SecretStr,
        *,
        timeout_s: float = 60.0,
        chunk: int = 200,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = url
        self.chunk = chunk
        self._sleep = sleep
        http = session or requests.Session()
        http.auth = HTTPBasicAuth(username, password.get_secret_value())
        self._transport = Transport(  # type: ignore[no-untyped-call]
            session=http, timeout=timeout_s, operation_timeout=timeout_s
        )
        self._client: zeep.Client | None = None
        self._ports: dict[str, Any] = {}

    # ----- WSDL and ports ---------------------------------------------------------------

    def _load(self) -> dict[str, Any]:
        if self._client is not None:
            return self._ports
        wsdl = wsdl_url_of(self.url)
        try:
            client = zeep.Client(wsdl, transport=self._transport)  # type: ignore[no-untyped-call]
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else 0
            raise self._http_error(status, "loading the WSDL") from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise HpswUnreachable(
                f"cannot reach Hyperplanning's web service at {wsdl} "
                f"({type(exc).__name__}); check the URL and that HPSW is running"
            ) from None
        except (zeep.exceptions.Error, ValueError) as exc:
            raise SourceError(f"{wsdl} is not a usable HPSW WSDL: {exc}") from None
        origin = _origin(self.url)
        ports: dict[str, Any] = {}
        for service in client.wsdl.services.values():
            for port in service.ports.values():
                path = urlsplit(port.binding_options["address"]).path
                ports[port.name] = client.create_service(  # type: ignore[no-untyped-call]
                    port.binding.name, origin + path
                )
        self._client, self._ports = client, ports
        return ports

    def has_operation(self, port: str, operation: str) -> bool:
        """Whether the WSDL declares `operation` on `port` (e.g. `CreerRetardEtudiant`)."""
        service = self._load().get(port)
        if service is None:
            return False
        try:
            service[operation]
        except (AttributeError, KeyError):
            return False
        return True

    def _http_error(self, status: int, doing: str) -> ConfigError | SourceError:
        if status in (401, 403):
            return AuthError(
                f"Hyperplanning refused the credentials while {doing} (HTTP {status}): check "
                "the web service username (ORGANISATION\\login, verbatim) and password"
            )
        return SourceError(f"Hyperplanning answered HTTP {status} while {doing}")

    # ----- calls ------------------------------------------------------------------------

    def call(self, port: str, operation: str, *args: object, write: bool = False) -> object:
        """One SOAP call on its interface's port; reads are retried on transient failures."""
        service = self._load().get(port)
        if service is None:
            raise SourceError(f"this Hyperplanning's WSDL has no port {port}")
        attempts = 1 if write else READ_ATTEMPTS
        for attempt in range(1, attempts + 1):
            try:
                return _plain(getattr(service, operation)(*args))
            except zeep.exceptions.Fault as exc:
                raise HpswFault(f"{operation}: {exc.message}", operation=operation) from None
            except zeep.exceptions.TransportError as exc:
                if exc.status_code in (401, 403) or exc.status_code < 500:
                    raise self._http_error(exc.status_code, f"calling {operation}") from None
                failure: SourceError = HpswUnreachable(
                    f"Hyperplanning answered HTTP {exc.status_code} to {operation}"
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                failure = HpswUnreachable(
                    f"Hyperplanning did not answer {operation} ({type(exc).__name__})"
                )
            except AttributeError:
                raise SourceError(f"this Hyperplanning has no operation {operation}") from None
            if attempt == attempts:
                raise failure
            self._sleep(BACKOFF_S * 2 ** (attempt - 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def keys(self, port: str, operation: str, *args: object) -> tuple[object, ...]:
        """A call answering an array, as its items."""
        return as_items(self.call(port, operation, *args))

    def chunked(
        self, port: str, operation: str, item_type: str, keys: Sequence[int]
    ) -> list[object]:
        """A `…TableauDe…` call over `keys`, `chunk` keys at a time, answers concatenated."""
        out: list[object] = []
        for start in range(0, len(keys), self.chunk):
            part = list(keys[start : start + self.chunk])
            out.extend(as_items(self.call(port, operation, {item_type: part})))
        return out

    def parallel(
        self, port: str, operation: str, item_type: str, keys: Sequence[int]
    ) -> list[object]:
        """A parallel `…TableauDe…` answer, checked to be as long as the keys."""
        found = self.chunked(port, operation, item_type, keys)
        if len(found) != len(keys):
            raise SourceError(f"{operation} answered {len(found)} values for {len(keys)} keys")
        return found

    # ----- admin ------------------------------------------------------------------------

    def version(self) -> str:
        """`Version()`: the connectivity and credential test."""
        return str(self.call("PortAdmin", "Version"))

    def first_day(self) -> date:
        """`DatePremierJourBase()`: the first day of the base the service serves."""
        value = self.call("PortAdmin", "DatePremierJourBase")
        if not isinstance(value, date):
            raise SourceError(f"DatePremierJourBase answered {value!r}, not a date")
        return value
