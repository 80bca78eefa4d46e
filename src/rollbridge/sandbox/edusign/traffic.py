"""Transport behaviour of the emulator: the rate limit, injected faults, the request log."""

from __future__ import annotations

import math
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any, Literal, get_args

FaultKind = Literal[
    "status", "timeout", "malformed", "apply_then_stall", "unauthorized", "billing", "rate_limited"
]
RateMode = Literal["delay", "reject"]
FAULT_KINDS: frozenset[str] = frozenset(get_args(FaultKind))
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
RATE_WINDOW_S = 60.0
RATE_STEP_S = 0.1  # Edusign adds 100 ms per request over the limit (§3)
DEFAULT_STALL_S = 35.0  # past a 30 s client read timeout


@dataclass(slots=True)
class Fault:
    """An injected failure for the next `times` matching requests (None: until cleared)."""

    kind: FaultKind
    times: int | None = 1
    method: str | None = None
    path: str | None = None  # a prefix of the request path
    status: int = 500
    seconds: float = DEFAULT_STALL_S
    api_key: str | None = None

    def matches(self, method: str, path: str, api_key: str) -> bool:
        """Whether this fault applies to the request."""
        return (
            (self.method is None or self.method == method)
            and (self.path is None or path.startswith(self.path))
            and (self.api_key is None or self.api_key == api_key)
        )


@dataclass(frozen=True, slots=True)
class RateVerdict:
    """The rate limiter's answer: wait `delay` seconds, or reject with `retry_after`."""

    delay: float = 0.0
    retry_after: int | None = None


class RateLimiter:
    """Edusign's per-key limit over a 60 s sliding window (§3), with counters."""

    def __init__(self, per_minute: int = 480, mode: RateMode = "delay") -> None:
        self.per_minute = per_minute
        self.mode: RateMode = mode
        self._hits: dict[str, deque[float]] = {}
        self.requests = 0
        self.rejected = 0
        self.delayed = 0
        self.delay_total_s = 0.0

    def admit(self, api_key: str, now: float) -> RateVerdict:
        """Count one request at monotonic time `now` and say what to do with it."""
        hits = self._hits.setdefault(api_key, deque())
        while hits and hits[0] <= now - RATE_WINDOW_S:
            hits.popleft()
        self.requests += 1
        excess = len(hits) + 1 - self.per_minute
        if excess <= 0:
            hits.append(now)
            return RateVerdict()
        if self.mode == "reject":
            self.rejected += 1  # not executed, so not counted in the window
            frees_at = hits[len(hits) - self.per_minute] + RATE_WINDOW_S
            return RateVerdict(retry_after=max(1, math.ceil(frees_at - now)))
        hits.append(now)
        self.delayed += 1
        self.delay_total_s += RATE_STEP_S * excess
        return RateVerdict(delay=RATE_STEP_S * excess)

    def stats(self) -> dict[str, Any]:
        """Settings and counters since the last reset."""
        return {
            "per_minute": self.per_minute,
            "mode": self.mode,
            "requests": self.requests,
            "rejected": self.rejected,
            "delayed": self.delayed,
            "delay_total_s": round(self.delay_total_s, 3),
        }


class RequestLog:
    """Every /v1 request as (method, template, path, status), with running counts."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, str, str, int]] = []
        self.counts: Counter[str] = Counter()
        self.writes = 0

    def record(self, method: str, template: str, path: str, status: int) -> None:
        """Append one request."""
        self.entries.append((method, template, path, status))
        self.counts[f"{method} {template}"] += 1
        if method in WRITE_METHODS:
            self.writes += 1

    def as_json(self) -> list[dict[str, Any]]:
        """The entries as JSON objects."""
        return [{"method": m, "template": t, "path": p, "status": s} for m, t, p, s in self.entries]
