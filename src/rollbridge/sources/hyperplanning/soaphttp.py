"""The HTTP POST of HPSW reads: `http.client` connections kept alive in a small pool;
thread-safe.

What requests gave the zeep path is kept: TLS with certificate verification (the same CA
bundle, the host name checked), HTTP Basic (built by the caller), one timeout for
connecting and for each read, keep-alive, gzip/deflate answers (decoded here). A connection
is taken from the pool for one exchange and put back only after its answer was read whole
and the server keeps it open; one the server closed while idle is dropped before use, and
for idempotent calls a reused connection that fails before any answer is replaced once.
`http.client` skips an interim `100 Continue` only, as requests does; another 1xx is
returned as the answer and its connection, the final answer unread on it, is not reused.

Client CPU per small SOAP call against the emulator in its own process, same envelope:
requests ~0.80 ms, urllib3 (`HTTPConnectionPool`) ~0.27 ms, `http.client` as here
~0.16-0.19 ms, about 0.1 ms more than the hand-written HTTP/1.1 reader it replaced (most of
it spent parsing the answer's headers with the `email` package).

Failures to connect or to get an answer raise `HttpFailure`, named like the requests
exception the zeep path sees (`ConnectionError`, `ConnectTimeout`, `ReadTimeout`,
`SSLError`), so the messages built from them read the same. `RequestsPoster` sends through a
requests session instead, for setups this does not cover (a proxy, a client certificate, a
session handed in).
"""

from __future__ import annotations

import base64
import http.client
import os
import select
import ssl
import threading
import weakref
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Protocol
from urllib.parse import urlsplit

import requests

POOL_SIZE: Final = 8  # idle connections kept (gather keeps 4 calls in flight)
# What a reused connection the server closed while idle raises before any answer
# (`http.client.RemoteDisconnected` is a `ConnectionResetError`).
_STALE: Final = (
    BrokenPipeError,
    ConnectionResetError,
    ConnectionAbortedError,
    ssl.SSLEOFError,
    ssl.SSLZeroReturnError,
)


class HttpFailure(Exception):
    """No answer: `kind` names the failure as requests would (`ReadTimeout`…)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class _Stale(HttpFailure):
    """The exchange failed the way a connection closed by the server fails."""


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """An HTTP answer read whole (body decoded from gzip/deflate)."""

    status: int
    headers: Mapping[str, str]
    content: bytes

    @property
    def media_type(self) -> str:
        """The Content-Type without parameters, lower case (`text/xml`)."""
        for name, value in self.headers.items():
            if name.lower() == "content-type":
                return value.split(";", 1)[0].strip().lower()
        return ""


class Poster(Protocol):
    """POSTs a body to a URL of the configured origin."""

    def post(
        self, url: str, body: bytes, headers: Mapping[str, str], *, idempotent: bool
    ) -> HttpAnswer: ...

    def close(self) -> None: ...


def basic_authorization(username: str, password: str) -> str:
    """The `Authorization` value: username and password verbatim (a backslash included),
    in UTF-8."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def tls_context(verify: bool | str) -> ssl.SSLContext:
    """Certificate verification as requests does it: True is requests' CA bundle (certifi),
    a path a CA file or directory, False none."""
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if verify is True:
        return ssl.create_default_context(cafile=requests.utils.DEFAULT_CA_BUNDLE_PATH)
    if os.path.isdir(verify):
        return ssl.create_default_context(capath=verify)
    return ssl.create_default_context(cafile=verify)


def _decoded(content: bytes, encoding: str) -> bytes:
    """The body without its Content-Encoding (gzip and deflate; others left as sent)."""
    coding = encoding.strip().lower()
    if not content or coding in ("", "identity"):
        return content
    try:
        if coding in ("gzip", "x-gzip"):
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            out = [inflater.decompress(content), inflater.flush()]
            rest = inflater.unused_data
            while rest:  # further members; trailing garbage ignored, as urllib3 does
                inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
                try:
                    out += (inflater.decompress(rest), inflater.flush())
                except zlib.error:
                    break
                rest = inflater.unused_data
            return b"".join(out)
        if coding == "deflate":
            try:
                return zlib.decompress(content)
            except zlib.error:
                return zlib.decompress(content, -zlib.MAX_WBITS)
    except zlib.error:
        raise HttpFailure("ContentDecodingError") from None
    return content


# ----- the pool ---------------------------------------------------------------------------


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """Whether the server closed this idle connection (readable means EOF here)."""
    if conn.sock is None:
        return True
    try:
        poller = select.poll()
        poller.register(conn.sock, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


class SocketPoster:
    """HTTP/1.1 over a pool of persistent `http.client` connections to one origin."""

    def __init__(
        self,
        origin: str,
        *,
        timeout_s: float,
        context: ssl.SSLContext | None = None,
        pool_size: int = POOL_SIZE,
    ) -> None:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) origin: {origin}")
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        self.timeout_s = timeout_s
        self.context = (context or tls_context(True)) if self.https else None
        self.pool_size = pool_size
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        weakref.finalize(self, _close_all, self._idle)  # idle sockets closed with the poster

    def _open(self) -> http.client.HTTPConnection:
        """A new connection, connected (and TLS verified) now."""
        conn: http.client.HTTPConnection
        if self.context is not None:
            conn = http.client.HTTPSConnection(
                self.host, self.port, timeout=self.timeout_s, context=self.context
            )
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)
        try:
            conn.connect()
        except TimeoutError:
            conn.close()
            raise HttpFailure("ConnectTimeout") from None
        except ssl.SSLError:  # a certificate refused included
            conn.close()
            raise HttpFailure("SSLError") from None
        except OSError:
            conn.close()
            raise HttpFailure("ConnectionError") from None
        return conn

    def _take(self) -> http.client.HTTPConnection | None:
        """An idle connection still open, if any."""
        while True:
            with self._lock:
                if not self._idle:
                    return None
                conn = self._idle.pop()
            if not _dropped(conn):
                return conn
            conn.close()

    def _give_back(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            if len(self._idle) < self.pool_size:
                self._idle.append(conn)
                return
        conn.close()

    def post(
        self, url: str, body: bytes, headers: Mapping[str, str], *, idempotent: bool
    ) -> HttpAnswer:
        """POST `body` to `url` (on this origin); the answer read whole, whatever its status."""
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        sent = {**headers, "Content-Length": str(len(body))}
        conn = self._take()
        if conn is not None:
            try:
                return self._exchange(conn, target, body, sent)
            except _Stale as exc:
                if not idempotent:
                    raise HttpFailure(exc.kind) from None
            # the server had closed the reused connection: once more on a new one
        try:
            return self._exchange(self._open(), target, body, sent)
        except _Stale as exc:
            raise HttpFailure(exc.kind) from None

    def _exchange(
        self,
        conn: http.client.HTTPConnection,
        target: str,
        body: bytes,
        headers: Mapping[str, str],
    ) -> HttpAnswer:
        """One request and its answer; the connection goes back to the pool or is closed."""
        try:
            try:
                conn.request("POST", target, body, headers)
                response = conn.getresponse()
            except _STALE as exc:  # closed before answering
                kind = "SSLError" if isinstance(exc, ssl.SSLError) else "ConnectionError"
                raise _Stale(kind) from None
            content = response.read()
        except _Stale:
            conn.close()
            raise
        except TimeoutError:
            conn.close()
            raise HttpFailure("ReadTimeout") from None
        except ssl.SSLError:
            conn.close()
            raise HttpFailure("SSLError") from None
        except (OSError, http.client.HTTPException):  # IncompleteRead, a bad status line…
            conn.close()
            raise HttpFailure("ConnectionError") from None
        except BaseException:
            conn.close()
            raise
        # An interim answer http.client does not skip (only 100 is) leaves the final one
        # unread: the connection is not reused.
        if response.will_close or conn.sock is None or response.status < 200:
            conn.close()
        else:
            self._give_back(conn)
        answer_headers: dict[str, str] = {}
        encoding = ""
        for name, value in response.getheaders():  # a repeated field joined, as requests does
            known = answer_headers.get(name)
            answer_headers[name] = value if known is None else f"{known}, {value}"
            if name.lower() == "content-encoding":
                encoding = value
        return HttpAnswer(response.status, answer_headers, _decoded(content, encoding))

    def close(self) -> None:
        """Close the idle connections."""
        with self._lock:
            idle = list(self._idle)
            self._idle.clear()
        _close_all(idle)


def _close_all(connections: list[http.client.HTTPConnection]) -> None:
    for conn in connections:
        conn.close()


class RequestsPoster:
    """The same POST through a requests session (its auth, proxies, certificates)."""

    def __init__(self, session: requests.Session, *, timeout_s: float) -> None:
        self.session = session
        self.timeout_s = timeout_s

    def post(
        self, url: str, body: bytes, headers: Mapping[str, str], *, idempotent: bool
    ) -> HttpAnswer:
        """POST `body` to `url`; the answer read whole, whatever its status."""
        try:
            response = self.session.post(
                url, data=body, headers=dict(headers), timeout=self.timeout_s
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise HttpFailure(type(exc).__name__) from None
        return HttpAnswer(response.status_code, dict(response.headers), response.content)

    def close(self) -> None:
        """Nothing of its own to close (the session belongs to the client)."""
