"""Judging Edusign replies: any HTTP answer becomes a `Reply` value (docs/apis/edusign.md §2).

Pure functions only: no I/O, no logging. The client decides what to raise, retry or
ignore from the `Reply`; tests exercise every branch without a server.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from rollbridge.errors import (
    AuthError,
    BusinessError,
    ProtocolError,
    RateLimited,
    RollbridgeError,
    Transient,
)

# Messages Edusign sends with status "error" for something already done (§2, §10.8).
BENIGN_MESSAGES = frozenset({"course already locked", "student already in the list"})

# "No course with this ID found", "No student with this email found", "professor not found",
# "Error - cannot get professor by email" (§2): what lookups read as "absent".
_NOT_FOUND = re.compile(
    r"^no \w+ (with|for) this [\w -]+ found$|not found$|^error - cannot get \w+ by email$",
    re.IGNORECASE,
)
_BEARER = re.compile(r"bearer\s+\S+", re.IGNORECASE)
_EXCERPT_CHARS = 120

_AUTH_MESSAGES = {
    401: (
        "Edusign refused the API key (HTTP 401): check this account's api_key in the tenant "
        "file, or create a new key in Edusign (Administration > Applications)"
    ),
    402: (
        "Edusign refused the request for billing reasons (HTTP 402): the school's "
        "subscription lacks the API option; ask Edusign to enable it"
    ),
    403: (
        "Edusign denied this route to the API key (HTTP 403): the key lacks a scope "
        "(Courses, Students, Professors, Groups, Externals, Absences); grant it in Edusign "
        "(Administration > Applications)"
    ),
}


@dataclass(frozen=True, slots=True)
class Reply:
    """One Edusign answer as data: a result, or the error it amounts to."""

    result: Any = None
    error: RollbridgeError | None = None
    note: str = ""  # a benign error message accepted as success

    @property
    def ok(self) -> bool:
        """Whether Edusign did what was asked (or had already done it)."""
        return self.error is None

    @property
    def not_found(self) -> bool:
        """Whether Edusign said the looked-up object does not exist."""
        return isinstance(self.error, BusinessError) and is_not_found_message(self.error.message)

    def unwrap(self) -> Any:
        """The result, or raise the error."""
        if self.error is not None:
            raise self.error
        return self.result


def is_not_found_message(message: str) -> bool:
    """Whether an envelope error message means "no such object" (§2)."""
    return bool(_NOT_FOUND.search(message.strip()))


def is_benign_message(message: str) -> bool:
    """Whether an envelope error message means "already done", i.e. success (§2)."""
    return message.strip().lower() in BENIGN_MESSAGES


def retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), or None."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def excerpt(text: str) -> str:
    """A short, single-line, bearer-free piece of a body for error messages."""
    flat = " ".join(text.split())
    flat = _BEARER.sub("Bearer [redacted]", flat)
    return flat if len(flat) <= _EXCERPT_CHARS else flat[:_EXCERPT_CHARS] + "…"


def judge(response: httpx.Response, *, now: datetime | None = None, **where: str) -> Reply:
    """Any Edusign answer as data (§2); callers decide to raise. `where` names account/route."""
    code = response.status_code
    if code in _AUTH_MESSAGES:
        return Reply(error=AuthError(_AUTH_MESSAGES[code], **where))
    if code == 429:
        wait = retry_after(response.headers.get("retry-after"), now=now)
        return Reply(
            error=RateLimited("Edusign asked us to slow down (HTTP 429)", after_s=wait, **where)
        )
    if code >= 500:
        return Reply(error=Transient(f"Edusign failed with HTTP {code}; retry later", **where))
    if 300 <= code < 400:
        return Reply(
            error=ProtocolError(
                f"Edusign answered with a redirect (HTTP {code}); check the account's base_url",
                **where,
            )
        )
    try:
        body = response.json()
    except ValueError:
        return Reply(
            error=ProtocolError(
                f"Edusign sent no JSON (HTTP {code}): {excerpt(response.text)!r}", **where
            )
        )
    if not isinstance(body, Mapping):
        return Reply(
            error=ProtocolError(f"Edusign sent JSON without an envelope (HTTP {code})", **where)
        )
    status = body.get("status")
    if status == "success":
        return Reply(result=body.get("result"))
    if status == "error":
        return _refusal(body.get("message"), where)
    return Reply(
        error=ProtocolError(
            f"Edusign reply has no status success/error (HTTP {code}, status={status!r})",
            **where,
        )
    )


def _refusal(raw: object, where: dict[str, str]) -> Reply:
    """A `status: "error"` envelope: benign (already done) or a BusinessError (§2)."""
    if isinstance(raw, list):
        details = tuple(str(item) for item in raw)
        message = "; ".join(details) or "Edusign refused the request without a reason"
    else:
        details = ()
        message = (
            str(raw) if raw not in (None, "") else "Edusign refused the request without a reason"
        )
    if is_benign_message(message):
        return Reply(note=message)
    return Reply(error=BusinessError(message, details=details, **where))
