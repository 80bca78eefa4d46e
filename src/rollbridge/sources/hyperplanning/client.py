"""`HpswClient`: zeep over HTTP Basic, one service proxy per HPSW interface.

The only module of the connector that talks to the network. It loads the full WSDL under
the configured base, rewrites every port's address to that base keeping the path (the
WSDL's `soap:address` may name an internal host, API notes §2), and translates zeep and
HTTP errors here, once: 401 → `AuthError`; a SOAP Fault → `HpswFault` (unknown key,
empty lookup, module off: read as "not found" by callers); connection failures and
timeouts → `HpswUnreachable`, retried with back-off for reads only.

Reads take a lean path (`lean=True`, the default; `lean=False` is zeep alone, the
reference): each operation is compiled once, from zeep's own objects, into a request
template and an answer reader (`soapcodec`), sent over pooled keep-alive sockets
(`soaphttp`); it answers exactly what zeep answers, for a fraction of the CPU (a large read
makes tens of thousands of calls). zeep still loads the WSDL, does the writes, renders a
call or reads an answer the codec does not reproduce exactly (a Fault, a non-200 status, an
unusual shape: with the same errors as before), and serves an operation the codec cannot
compile (logged once at debug). Credentials go out in UTF-8 on both paths.

`fetch_chunks` reads a `…TableauDe…` call like `chunked`, but keeps each chunk's answer
undecoded with a digest of its bytes (`chunks.ChunkAnswer`): a caller that saw the digest
before may skip decoding it at all.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
import structlog
import zeep
import zeep.exceptions
import zeep.helpers
from pydantic import SecretStr
from requests.auth import HTTPBasicAuth
from requests.structures import CaseInsensitiveDict
from zeep.transports import Transport

from rollbridge.errors import AuthError, ConfigError, SourceError
from rollbridge.sources.hyperplanning.chunks import ChunkAnswer, digest_bytes
from rollbridge.sources.hyperplanning.parse import as_items
from rollbridge.sources.hyperplanning.soapcodec import (
    OperationCodec,
    Unsupported,
    compile_operation,
)
from rollbridge.sources.hyperplanning.soaphttp import (
    HttpAnswer,
    HttpFailure,
    Poster,
    RequestsPoster,
    SocketPoster,
    basic_authorization,
    tls_context,
)

T = TypeVar("T")
READ_ATTEMPTS = 3
BACKOFF_S = 0.5

log = structlog.get_logger("rollbridge.hyperplanning")


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


def _as_the_codec_assumes(client: Any) -> bool:
    """Whether zeep runs as the lean codec reproduces it: strict parsing in sequence order,
    no plugins, WS-Security or extra HTTP headers."""
    settings = client.settings
    unusual = (
        settings.xsd_ignore_sequence_order
        or settings.raw_response
        or settings.extra_http_headers
        or client.wsse
        or client.plugins
    )
    return bool(settings.strict and not unusual)


@dataclass(frozen=True, slots=True)
class _LeanOperation:
    """One operation on the lean path: its codec, address and headers, and zeep's binding
    and operation for the answers the codec leaves to zeep."""

    codec: OperationCodec
    url: str
    headers: Mapping[str, str]
    binding: Any
    operation: Any


def _as_response(answer: HttpAnswer, url: str) -> requests.Response:
    """An answer read by the lean path, shaped as zeep's `process_reply` takes it."""
    response = requests.Response()
    response.status_code = answer.status
    response._content = answer.content
    response.headers = CaseInsensitiveDict(answer.headers)
    response.encoding = requests.utils.get_encoding_from_headers(response.headers)
    response.url = url
    return response


def _zeep_call(service: Any, operation: str, args: Sequence[object]) -> object:
    """A call through zeep alone (an unknown operation raises AttributeError)."""
    return _plain(getattr(service, operation)(*args))


def _readable(answer: HttpAnswer) -> bool:
    """Whether the codec may read this answer (else zeep does)."""
    return answer.status == 200 and answer.media_type != "multipart/related"


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
        lean: bool = True,
    ) -> None:
        self.url = url
        self.chunk = chunk
        self.lean = lean
        self._sleep = sleep
        self._timeout_s = timeout_s
        self._session_given = session is not None
        http = session or requests.Session()
        # UTF-8, verbatim (a backslash included), for the WSDL, zeep's calls and lean ones.
        secret = password.get_secret_value()
        http.auth = HTTPBasicAuth(username.encode(), secret.encode())
        self._authorization = basic_authorization(username, secret)
        self._transport = Transport(  # type: ignore[no-untyped-call]
            session=http, timeout=timeout_s, operation_timeout=timeout_s
        )
        self._client: zeep.Client | None = None
        self._ports: dict[str, Any] = {}
        self._lean: dict[tuple[str, str], _LeanOperation] = {}
        self._http: Poster | None = None
        self._loading = threading.Lock()
        self._logged: set[str] = set()

    # ----- WSDL and ports ---------------------------------------------------------------

    def _load(self) -> dict[str, Any]:
        if self._client is not None:
            return self._ports
        with self._loading:
            if self._client is None:
                self._load_wsdl()
            return self._ports

    def _load_wsdl(self) -> None:
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
        if self.lean and _as_the_codec_assumes(client):
            self._compile(client, ports)
        self._ports = ports
        self._client = client

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

    # ----- the lean path ----------------------------------------------------------------

    def _poster(self) -> tuple[Poster, dict[str, str]]:
        """The light HTTP layer, unless the setup needs requests (a session handed in, a
        proxy from the environment, a client certificate); and the headers it must add."""
        http = self._transport.session
        settings = http.merge_environment_settings(self.url, {}, None, None, None)
        proxy = requests.utils.select_proxy(self.url, settings["proxies"])
        if self._session_given or proxy or settings["cert"]:
            return RequestsPoster(http, timeout_s=self._timeout_s), {}
        https = urlsplit(self.url).scheme == "https"
        poster = SocketPoster(
            _origin(self.url),
            timeout_s=self._timeout_s,
            context=tls_context(settings["verify"]) if https else None,
        )
        headers = {
            "User-Agent": str(http.headers.get("User-Agent", "")),
            "Accept-Encoding": "gzip, deflate",
            "Accept": "*/*",
            "Connection": "keep-alive",
            "Authorization": self._authorization,
        }
        return poster, headers

    def _compile(self, client: Any, ports: Mapping[str, Any]) -> None:
        """A lean codec for every operation the codec reproduces exactly."""
        self._http, extra = self._poster()
        huge = bool(client.settings.xml_huge_tree)
        for port_name, service in ports.items():
            binding = service._binding
            url = service._binding_options["address"]
            for name in binding.all():
                try:
                    codec = compile_operation(binding, name, huge_tree=huge)
                except Unsupported as exc:
                    log.debug("hpsw operation left to zeep", operation=name, reason=str(exc))
                    continue
                self._lean[(port_name, name)] = _LeanOperation(
                    codec, url, {**extra, **codec.headers}, binding, binding.get(name)
                )

    def _post(self, lean: _LeanOperation, body: bytes) -> HttpAnswer:
        assert self._http is not None
        return self._http.post(lean.url, body, lean.headers, idempotent=True)

    def _read(self, lean: _LeanOperation, answer: HttpAnswer) -> object:
        """An answer as zeep reads it: by the codec, or by zeep when the codec does not
        reproduce it (raising zeep's errors, a Fault included)."""
        if _readable(answer):
            try:
                return lean.codec.decode(answer.content)
            except Unsupported as exc:
                if lean.codec.name not in self._logged:
                    self._logged.add(lean.codec.name)
                    log.debug(
                        "hpsw answer read by zeep", operation=lean.codec.name, reason=str(exc)
                    )
        reply = lean.binding.process_reply(
            self._client, lean.operation, _as_response(answer, lean.url)
        )
        return _plain(reply)

    def _send(self, lean: _LeanOperation, body: bytes) -> object:
        """One lean exchange; an answer the codec does not reproduce goes to zeep."""
        return self._read(lean, self._post(lean, body))

    # ----- calls ------------------------------------------------------------------------

    def _service(self, port: str) -> Any:
        service = self._load().get(port)
        if service is None:
            raise SourceError(f"this Hyperplanning's WSDL has no port {port}")
        return service

    def _retried(self, operation: str, once: Callable[[], T], *, write: bool) -> T:
        """`once()` with HPSW's errors translated; reads are retried on transient failures
        (no answer, HTTP 5xx), writes never."""
        attempts = 1 if write else READ_ATTEMPTS
        for attempt in range(1, attempts + 1):
            try:
                return once()
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
            except HttpFailure as exc:
                failure = HpswUnreachable(f"Hyperplanning did not answer {operation} ({exc.kind})")
            except AttributeError:
                raise SourceError(f"this Hyperplanning has no operation {operation}") from None
            if attempt == attempts:
                raise failure
            self._sleep(BACKOFF_S * 2 ** (attempt - 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def call(self, port: str, operation: str, *args: object, write: bool = False) -> object:
        """One SOAP call on its interface's port; reads are retried on transient failures."""
        service = self._service(port)
        lean = None if write else self._lean.get((port, operation))
        body = None if lean is None else lean.codec.encode(args)
        if lean is not None and body is not None:
            return self._retried(operation, functools.partial(self._send, lean, body), write=write)
        return self._retried(
            operation, functools.partial(_zeep_call, service, operation, args), write=write
        )

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

    def fetch_chunks(
        self, port: str, operation: str, item_type: str, keys: Sequence[int]
    ) -> list[ChunkAnswer]:
        """A `…TableauDe…` read over `keys`, `chunk` keys at a time, each chunk's answer kept
        undecoded with a digest of it: a caller that saw that digest before may skip decoding
        (a large base's séance details cost more to decode than to fetch). Errors and retries
        are `call`'s; `items()` gives what `chunked` gives for that chunk."""
        service = self._service(port)
        lean = self._lean.get((port, operation))
        out: list[ChunkAnswer] = []
        for start in range(0, len(keys), self.chunk):
            part = tuple(keys[start : start + self.chunk])
            args = ({item_type: list(part)},)
            body = None if lean is None else lean.codec.encode(args)
            if lean is not None and body is not None:
                fetch = functools.partial(self._fetch, lean, body, part, operation)
                out.append(self._retried(operation, fetch, write=False))
                continue
            by_zeep = functools.partial(_zeep_call, service, operation, args)
            value = self._retried(operation, by_zeep, write=False)
            out.append(ChunkAnswer.decoded(part, value))
        return out

    def _fetch(
        self, lean: _LeanOperation, body: bytes, keys: tuple[int, ...], operation: str
    ) -> ChunkAnswer:
        """One chunk on the lean path: a plain 200 answer is kept as bytes and digested; any
        other (a Fault, an error status) is read now, raising as `call` does."""
        answer = self._post(lean, body)
        if not _readable(answer):
            return ChunkAnswer.decoded(keys, self._read(lean, answer))

        def decode() -> object:
            try:
                return self._read(lean, answer)
            except zeep.exceptions.Fault as exc:  # a Fault sent with status 200, read late
                raise HpswFault(f"{operation}: {exc.message}", operation=operation) from None

        return ChunkAnswer(keys, digest_bytes(answer.content), decode)

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
