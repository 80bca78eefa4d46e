"""Identity: source keys, the deterministic `API_ID`, and the link between them.

A source key names a record inside one tenant and source system: `"{kind}:{source_id}"`
(e.g. `"session:ev-4711"`). The `API_ID` we send to Edusign is derived from the tenant,
system, account and key: short, free of personal data, and different per account so two
accounts never share one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

from rollbridge.model import RecordKind

EdusignKind = Literal["professor", "external", "group", "student", "course"]
EDUSIGN_KINDS: tuple[EdusignKind, ...] = get_args(EdusignKind)

# Which Edusign object each canonical kind becomes.
EDUSIGN_KIND_OF: dict[RecordKind, EdusignKind] = {
    "instructor": "professor",
    "tutor": "external",
    "group": "group",
    "learner": "student",
    "session": "course",
}

_API_PREFIX: dict[EdusignKind, str] = {
    "professor": "p",
    "external": "x",
    "group": "g",
    "student": "s",
    "course": "c",
}


def source_key(kind: RecordKind, source_id: str) -> str:
    """The key of a record inside its tenant and source: `kind:source_id`."""
    return f"{kind}:{source_id}"


def split_key(key: str) -> tuple[str, str]:
    """`("session", "ev-4711")` from `"session:ev-4711"`."""
    kind, _, source_id = key.partition(":")
    return kind, source_id


def api_id(tenant: str, system: str, account: str, key: str) -> str:
    """Deterministic, short, personal-data-free external id for Edusign's `API_ID`."""
    return ApiIds(tenant, system, account)(key)


class ApiIds:
    """`api_id` for one (tenant, system, account), with the common prefix hashed once."""

    def __init__(self, tenant: str, system: str, account: str) -> None:
        self._base = hashlib.blake2b(
            f"{tenant}\x1f{system}\x1f{account}\x1f".encode(), digest_size=10
        )

    def __call__(self, key: str) -> str:
        kind, _ = split_key(key)
        edusign_kind = EDUSIGN_KIND_OF.get(kind, "course")  # type: ignore[call-overload]
        digest = self._base.copy()
        digest.update(key.encode())
        return f"rb{_API_PREFIX[edusign_kind]}-{digest.hexdigest()}"


@dataclass(frozen=True, slots=True)
class Link:
    """What we know of one object we manage in one Edusign account.

    `content_hash` is the hash of what we last wrote (unchanged → no write). For courses,
    `start_at`/`end_at` are the times we last wrote, so a past session is recognised even
    when the source has dropped it.
    """

    key: str
    kind: EdusignKind
    api_id: str
    edusign_id: str
    content_hash: str
    start_at: datetime | None = None
    end_at: datetime | None = None
