"""A thread-safe token bucket that keeps any 60 s window under an account's rate limit.

Edusign allows 480 requests per minute and slows down (rather than rejects) beyond it,
which turns into read timeouts and duplicate writes (docs/apis/edusign.md §3, §10.3).
Its limit is a sliding 60 s window, so bursts are what hurt: this bucket holds a single
token (burst of one) and hands out send slots evenly spaced at the rate, minus a small
safety margin. With slots spaced `60 / (limit * (1 - margin))` apart, any closed 60 s
window holds at most `floor(limit * (1 - margin)) + 1 <= limit` sends, while a saturated
caller still reaches `1 - margin` of the limit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

DEFAULT_MARGIN = 0.02


class TokenBucket:
    """Evenly spaced send slots at `per_minute * (1 - margin)`, shared by all threads."""

    def __init__(
        self,
        per_minute: int,
        *,
        margin: float = DEFAULT_MARGIN,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        if not 0 < margin < 1:
            raise ValueError("margin must be between 0 and 1 (exclusive)")
        self.per_minute = per_minute
        self.interval_s = 60.0 / (per_minute * (1.0 - margin))
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_slot: float | None = None

    def acquire(self) -> float:
        """Block until this caller's slot comes; return the seconds waited."""
        with self._lock:
            now = self._clock()
            slot = now if self._next_slot is None else max(now, self._next_slot)
            self._next_slot = slot + self.interval_s
        wait = slot - now
        if wait > 0:
            self._sleep(wait)  # outside the lock: other threads reserve their own later slots
        return max(wait, 0.0)

    def pause(self, seconds: float) -> None:
        """Hand out no slot for `seconds` from now (Edusign's Retry-After, §3)."""
        with self._lock:
            resume = self._clock() + max(seconds, 0.0)
            if self._next_slot is None or self._next_slot < resume:
                self._next_slot = resume
