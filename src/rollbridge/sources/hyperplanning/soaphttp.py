"""A light HTTP/1.1 POST for HPSW reads: persistent sockets in a small pool, the request
written in one piece, the answer read by a small HTTP/1.1 reader; thread-safe.

Client CPU per small SOAP call against the emulator in its own process, same envelope:
requests ~0.80 ms, urllib3 (`HTTPConnectionPool`) ~0.27 ms, `http.client.HTTPConnection`
~0.16 ms, this ~0.05–0.09 ms. `http.client` spends most of its time parsing headers with the
`email` package and validating and sending each header on its own (then the body in a second
send); urllib3 adds its own layers on top of it.

What requests gave the zeep path is kept: TLS with certificate verification (the same CA
bundle, the host name checked), HTTP Basic (built by the caller), one timeout for
connecting and for each read, keep-alive, gzip/deflate answers, sized, chunked or
close-delimited bodies, interim 1xx answers skipped. A connection is taken from the pool for
one exchange and put back only after its answer was read whole and the server keeps it open;
one the server closed while idle is dropped before use, and for idempotent calls a reused
connection that fails before any answer is replaced once.

Failures to connect or to get an answer raise `HttpFailure`, named like the requests
exception the zeep path sees (`ConnectionError`, `ConnectTimeout`, `ReadTimeout`,
`SSLError`), so the messages built from them read the same. `RequestsPoster` sends through a
requests session instead, for setups this does not cover (a proxy, a client certificate, a
session handed in).
"""

from __future__ import annotations

import base64
import os
import select
import socket
import ssl
import threading
import weakref
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Final, Protocol
from urllib.parse import urlsplit

import requests

POOL_SIZE: Final = 8  # idle connections kept (gather keeps 4 calls in flight)
_MAX_LINE: Final = 65536  # as http.client
_MAX_HEADERS: Final = 100
# What a connection the server closed while idle raises on its next exchange.
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


class _Malformed(Exception):
    """Not an HTTP/1.x answer, or one cut short."""


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


# ----- reading an answer --------------------------------------------------------------------


def _line(reader: IO[bytes]) -> bytes:
    line = reader.readline(_MAX_LINE + 1)
    if len(line) > _MAX_LINE:
        raise _Malformed("line too long")
    return line


def _exactly(reader: IO[bytes], size: int) -> bytes:
    data = reader.read(size)
    if len(data) < size:
        raise _Malformed("answer cut short")
    return data


def _chunked(reader: IO[bytes]) -> bytes:
    parts = []
    while True:
        size_text = _line(reader).split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise _Malformed("bad chunk size") from None
        if size < 0:
            raise _Malformed("bad chunk size")
        if size == 0:
            break
        parts.append(_exactly(reader, size))
        _exactly(reader, 2)  # the CRLF after the chunk
    while _line(reader) not in (b"\r\n", b"\n", b""):
        pass  # trailer fields, ignored
    return b"".join(parts)


def _read_answer(reader: IO[bytes]) -> tuple[int, dict[str, str], bytes, bool]:
    """(status, headers, body, whether the server closes the connection)."""
    while True:
        try:
            line = _line(reader)
        except _STALE as exc:  # closed before answering
            raise _Stale(
                "SSLError" if isinstance(exc, ssl.SSLError) else "ConnectionError"
            ) from None
        if not line:
            raise _Stale("ConnectionError")  # closed before answering
        parts = line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
            raise _Malformed("not an HTTP status line")
        version, status = parts[0], int(parts[1])
        names: list[str] = []
        headers: dict[str, str] = {}
        lowered: dict[str, str] = {}
        while True:
            line = _line(reader)
            if line in (b"\r\n", b"\n", b""):
                break
            if line[:1] in (b" ", b"\t") and names:  # an obsolete folded continuation
                last = names[-1]
                headers[last] += " " + line.strip().decode("latin-1")
                lowered[last.lower()] = headers[last]
                continue
            if len(headers) >= _MAX_HEADERS:
                raise _Malformed("too many headers")
            raw_name, colon, raw_value = line.partition(b":")
            if not colon:
                raise _Malformed("not a header line")
            name = raw_name.strip().decode("latin-1")
            value = raw_value.strip().decode("latin-1")
            if name in headers:
                value = f"{headers[name]}, {value}"
            else:
                names.append(name)
            headers[name] = value
            lowered[name.lower()] = value
        if not 100 <= status < 200 or status == 101:
            break  # 1xx: interim, the answer follows
    tokens = {t.strip() for t in lowered.get("connection", "").lower().split(",")}
    close = "close" in tokens or (version == b"HTTP/1.0" and "keep-alive" not in tokens)
    if status in (204, 304) or 100 <= status < 200:
        body = b""
    elif "chunked" in lowered.get("transfer-encoding", "").lower():
        body = _chunked(reader)
    elif "content-length" in lowered:
        try:
            length = int(lowered["content-length"].split(",")[0])
        except ValueError:
            raise _Malformed("bad Content-Length") from None
        if length < 0:
            raise _Malformed("bad Content-Length")
        body = _exactly(reader, length)
    else:
        body, close = reader.read(), True  # delimited by the connection's end
    return status, headers, body, close


# ----- the pool ---------------------------------------------------------------------------


class _Connection:
    """A socket and the buffered reader over it, for all its exchanges."""

    __slots__ = ("reader", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.reader: IO[bytes] = sock.makefile("rb")

    def dropped(self) -> bool:
        """Whether the server closed it while idle (readable means EOF here)."""
        try:
            poller = select.poll()
            poller.register(self.sock, select.POLLIN)
            return bool(poller.poll(0))
        except (OSError, ValueError):
            return True

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


class SocketPoster:
    """HTTP/1.1 over a pool of persistent connections to one origin."""

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
        default = 443 if self.https else 80
        self.port = parts.port or default
        name = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 literal
        # As http.client writes it: the port only when it is not the scheme's default.
        self.host_header = name if self.port == default else f"{name}:{self.port}"
        self.timeout_s = timeout_s
        self.context = (context or tls_context(True)) if self.https else None
        self.pool_size = pool_size
        self._idle: list[_Connection] = []
        self._lock = threading.Lock()
        weakref.finalize(self, _close_all, self._idle)  # idle sockets closed with the poster

    def _open(self) -> _Connection:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout_s)
        except TimeoutError:
            raise HttpFailure("ConnectTimeout") from None
        except OSError:
            raise HttpFailure("ConnectionError") from None
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.context is not None:
                sock = self.context.wrap_socket(sock, server_hostname=self.host)
        except TimeoutError:
            sock.close()
            raise HttpFailure("ConnectTimeout") from None
        except ssl.SSLError:  # a certificate refused included
            sock.close()
            raise HttpFailure("SSLError") from None
        except OSError:
            sock.close()
            raise HttpFailure("ConnectionError") from None
        return _Connection(sock)

    def _take(self) -> _Connection | None:
        """An idle connection still open, if any."""
        while True:
            with self._lock:
                if not self._idle:
                    return None
                conn = self._idle.pop()
            if not conn.dropped():
                return conn
            conn.close()

    def _give_back(self, conn: _Connection) -> None:
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
        lines = [f"POST {target} HTTP/1.1", f"Host: {self.host_header}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines += [f"Content-Length: {len(body)}", "", ""]
        request = "\r\n".join(lines).encode("latin-1") + body
        conn = self._take()
        if conn is not None:
            try:
                return self._exchange(conn, request)
            except _Stale as exc:
                if not idempotent:
                    raise HttpFailure(exc.kind) from None
            # the server had closed the reused connection: once more on a new one
        try:
            return self._exchange(self._open(), request)
        except _Stale as exc:
            raise HttpFailure(exc.kind) from None

    def _exchange(self, conn: _Connection, request: bytes) -> HttpAnswer:
        """One request and its answer; the connection goes back to the pool or is closed."""
        try:
            try:
                conn.sock.sendall(request)
            except _STALE as exc:
                kind = "SSLError" if isinstance(exc, ssl.SSLError) else "ConnectionError"
                raise _Stale(kind) from None
            status, headers, content, close = _read_answer(conn.reader)
        except _Stale:
            conn.close()
            raise
        except TimeoutError:
            conn.close()
            raise HttpFailure("ReadTimeout") from None
        except ssl.SSLError:
            conn.close()
            raise HttpFailure("SSLError") from None
        except (OSError, _Malformed):
            conn.close()
            raise HttpFailure("ConnectionError") from None
        except BaseException:
            conn.close()
            raise
        if close:
            conn.close()
        else:
            self._give_back(conn)
        encoding = next((v for k, v in headers.items() if k.lower() == "content-encoding"), "")
        return HttpAnswer(status, headers, _decoded(content, encoding))

    def close(self) -> None:
        """Close the idle connections."""
        with self._lock:
            idle = list(self._idle)
            self._idle.clear()
        _close_all(idle)


def _close_all(connections: list[_Connection]) -> None:
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
