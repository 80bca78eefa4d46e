"""The wire under the Edusign client: limits, retries, judging and paging (one account).

Every request passes a concurrency semaphore and a token bucket at the account's rate
(`ratelimit.py`, docs/apis/edusign.md §3), then `judge` (`edusign_reply.py`, §2) turns the
answer into a `Reply`. Idempotent calls (`call`) are retried with stamina on transient
failures, bounded by attempts and total time, with exponential backoff and jitter. A 429
pauses the bucket for Retry-After, for every thread, and the call is retried whatever its
method: a 429 was not executed. A POST (`create`) is never retried blind (§10.3): after a
timeout, a 5xx or a dropped connection, the object is looked up first and only re-posted if
absent.

Tests make backoffs instant with `stamina.set_testing(True, attempts=10, cap=True)` (or a
`RetryPolicy` with zero waits); Retry-After waits go through the injected `sleep` and are
honoured in test mode too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict
from urllib.parse import quote

import httpx
import stamina
import structlog

from rollbridge.config import Account
from rollbridge.errors import ProtocolError, RateLimited, Transient
from rollbridge.targets.edusign_objects import id_of
from rollbridge.targets.edusign_reply import Reply, judge
from rollbridge.targets.edusign_shapes import Obj, page_signature
from rollbridge.targets.ratelimit import TokenBucket

Query = Mapping[str, str | int]

MAX_PAGES = 10_000


class Where(TypedDict):
    """Error context: the account and the route template, never ids or payloads."""

    account: str
    route: str


# Transport failures raised before the request left: re-sending a POST cannot duplicate.
_UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retry bounds: attempts AND total time, exponential backoff with jitter (stamina)."""

    attempts: int = 5
    timeout_s: float = 120.0
    wait_initial_s: float = 0.5
    wait_max_s: float = 20.0
    wait_jitter_s: float = 1.0
    create_attempts: int = 3  # POSTs, each after the first preceded by a lookup
    max_retry_after_s: float = 120.0  # a longer Retry-After gives up; the next run retries


@dataclass(slots=True)
class ClientStats:
    """Counters since the client was made; updated under the client's lock."""

    requests: int = 0
    writes: int = 0  # requests other than GET
    retries: int = 0
    rate_limited: int = 0
    settled_by_lookup: int = 0  # POSTs found done after an ambiguous failure
    by_method: dict[str, int] = field(default_factory=dict)


class EdusignHttp:
    """Rate-limited, bounded, retrying access to one Edusign account; thread-safe."""

    def __init__(
        self,
        account: Account,
        *,
        transport: httpx.BaseTransport | None,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
        retry: RetryPolicy,
    ) -> None:
        self.account_name = account.name
        self.stats = ClientStats()
        self._policy = retry
        self._clock = clock
        self._bucket = TokenBucket(account.rate_per_minute, clock=clock, sleep=sleep)
        self._slots = threading.BoundedSemaphore(account.max_concurrency)
        self._lock = threading.Lock()
        self._log = structlog.get_logger("rollbridge.edusign").bind(account=account.name)
        pool = httpx.Limits(
            max_connections=account.max_concurrency,
            max_keepalive_connections=account.max_concurrency,
        )
        self._http = httpx.Client(
            base_url=str(account.base_url),
            transport=transport,
            limits=pool,
            follow_redirects=False,
            headers={
                "Authorization": f"Bearer {account.api_key.get_secret_value()}",
                "Accept": "application/json",
            },
            # Slowed-down calls take long (§3): a short read timeout would duplicate writes.
            timeout=httpx.Timeout(account.timeout_s, connect=5.0),
        )
        waits: dict[str, Any] = {
            "timeout": retry.timeout_s,
            "wait_initial": retry.wait_initial_s,
            "wait_max": retry.wait_max_s,
            "wait_jitter": retry.wait_jitter_s,
        }
        self._retrying = stamina.RetryingCaller(attempts=retry.attempts, **waits)
        self._creating = stamina.RetryingCaller(attempts=retry.create_attempts, **waits)

    def close(self) -> None:
        """Release the connection pool."""
        self._http.close()

    def where(self, route: str) -> Where:
        """Error context for a route: the account and the route template, never ids."""
        return Where(account=self.account_name, route=route)

    def call(
        self,
        method: str,
        template: str,
        *params: str,
        query: Query | None = None,
        body: Obj | None = None,
    ) -> Reply:
        """An idempotent request, retried on transient failures; never a Transient reply.

        `params` fill the `{}` of `template`, URL-encoded; logs name only the template.
        """
        attempt = 0
        cause: Exception | None = None

        def once() -> Reply:
            nonlocal attempt, cause
            attempt += 1
            if attempt > 1:
                self._note_retry(method, template, attempt - 1, cause)
            try:
                return self._raise_transient(self._send(method, template, params, query, body))
            except Transient as exc:
                cause = exc
                raise

        return self._retrying(self._backoff, once)

    def create(
        self,
        template: str,
        body: Obj,
        *,
        lookup: Callable[[], str | None],
        query: Query | None = None,
    ) -> str | None:
        """POST once; after an ambiguous failure, `lookup` before any new POST (§10.3).

        Returns the id Edusign gave (or `lookup` found), None if the reply carried none.
        """
        maybe_done = False
        attempt = 0
        cause: Exception | None = None

        def once() -> str | None:
            nonlocal maybe_done, attempt, cause
            attempt += 1
            if attempt > 1:
                self._note_retry("POST", template, attempt - 1, cause)
                if maybe_done and (found := lookup()) is not None:
                    self._note_settled(template)
                    return found
            try:
                reply = self._raise_transient(self._send("POST", template, (), query, body))
            except Transient as exc:
                cause = exc
                # 429: not executed (§3); connect failures: never left. Anything else may
                # have been applied before the reply was lost.
                if not isinstance(exc, RateLimited) and not isinstance(exc.__cause__, _UNSENT):
                    maybe_done = True
                raise
            return id_of(reply.unwrap())

        try:
            return self._creating(self._backoff, once)
        except Transient:
            if not maybe_done or (found := lookup()) is None:
                raise
            self._note_settled(template)
            return found

    def pages(self, template: str, *, size: int, query: Query | None = None) -> Iterator[Obj]:
        """Pages 0, 1, … until a short, empty or repeated page (§4); `page` always sent."""
        previous: tuple[str, ...] | None = None
        for page in range(MAX_PAGES):
            reply = self.call("GET", template, query={**(query or {}), "page": page})
            items = self.list_of(reply.unwrap(), f"GET {template}")
            if not items:
                return
            signature = page_signature(items)
            if signature == previous:
                self._log.warning("edusign.page_repeated", path=template, page=page)
                return
            yield from items
            if len(items) < size:
                return
            previous = signature
        raise ProtocolError(
            f"Edusign kept sending full pages past page {MAX_PAGES}; the list was not read whole",
            **self.where(f"GET {template}"),
        )

    def object_of(self, result: object, route: str) -> Obj:
        """A result that must be one object, or a ProtocolError."""
        if not isinstance(result, Mapping):
            raise ProtocolError(
                f"Edusign sent {type(result).__name__} where an object was expected",
                **self.where(route),
            )
        return dict(result)

    def list_of(self, result: object, route: str) -> list[Obj]:
        """A result that must be a list of objects (None reads as empty), or a ProtocolError."""
        if result is None:
            return []
        if not isinstance(result, list) or not all(isinstance(i, Mapping) for i in result):
            raise ProtocolError(
                "Edusign sent something other than a list of objects", **self.where(route)
            )
        return [dict(item) for item in result]

    def _send(
        self,
        method: str,
        template: str,
        params: tuple[str, ...],
        query: Query | None,
        body: Obj | None,
    ) -> Reply:
        """One request through the semaphore and the bucket; transport errors → Transient."""
        path = template.format(*(quote_segment(param) for param in params))
        route = f"{method} {template}"  # the template: ids and e-mails stay out of logs
        with self._slots:
            self._bucket.acquire()  # inside the semaphore, so the slot is used at once
            started = self._clock()
            try:
                response = self._http.request(method, path, params=query, json=body)
            except httpx.TransportError as exc:
                self._count(method, rate_limited=False)
                self._log.warning(
                    "edusign.request",
                    method=method,
                    path=template,
                    status=None,
                    error=type(exc).__name__,
                    elapsed_ms=self._elapsed_ms(started),
                )
                raise Transient(
                    f"Edusign could not be reached ({type(exc).__name__}); retry later",
                    **self.where(route),
                ) from exc
            elapsed_ms = self._elapsed_ms(started)
        reply = judge(response, **self.where(route))
        limited = reply.error if isinstance(reply.error, RateLimited) else None
        self._count(method, rate_limited=limited is not None)
        log = self._log.debug if response.status_code < 400 else self._log.warning
        log(
            "edusign.request",
            method=method,
            path=template,
            status=response.status_code,
            elapsed_ms=elapsed_ms,
        )
        if limited is not None:
            if limited.after_s is not None and limited.after_s <= self._policy.max_retry_after_s:
                self._bucket.pause(limited.after_s)  # every thread waits, not just this one
            self._log.warning("edusign.rate_limited", path=template, retry_after_s=limited.after_s)
        return reply

    @staticmethod
    def _raise_transient(reply: Reply) -> Reply:
        if isinstance(reply.error, Transient):
            raise reply.error
        return reply

    def _backoff(self, exc: Exception) -> bool | float:
        """stamina hook: False gives up, True backs off exponentially, a float waits that long."""
        if isinstance(exc, RateLimited):
            if exc.after_s is None:
                return True
            if exc.after_s > self._policy.max_retry_after_s:
                return False
            return 0.0  # the bucket is paused for Retry-After; the wait happens there
        return isinstance(exc, Transient)

    def _elapsed_ms(self, started: float) -> int:
        return round((self._clock() - started) * 1000)

    def _count(self, method: str, *, rate_limited: bool) -> None:
        with self._lock:
            self.stats.requests += 1
            self.stats.by_method[method] = self.stats.by_method.get(method, 0) + 1
            if method != "GET":
                self.stats.writes += 1
            if rate_limited:
                self.stats.rate_limited += 1

    def _note_retry(self, method: str, template: str, retry: int, cause: Exception | None) -> None:
        with self._lock:
            self.stats.retries += 1
        self._log.warning(
            "http.retry_scheduled",
            method=method,
            path=template,
            retry=retry,
            cause=type(cause.__cause__ or cause).__name__ if cause else None,
            reason=getattr(cause, "message", ""),  # our own wording: no ids, no payloads
        )

    def _note_settled(self, template: str) -> None:
        with self._lock:
            self.stats.settled_by_lookup += 1
        self._log.info("edusign.create_settled_by_lookup", path=template)


def quote_segment(value: str) -> str:
    """One URL path segment: ids, API_IDs and e-mails percent-encoded, `/` included."""
    return quote(value, safe="")
