"""Reading Edusign objects: their id and whether a person is archived. Pure, no HTTP, so
the engine and the client share it (docs/apis/edusign.md §5, §7.6, §10.12)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["id_of", "is_archived"]


def id_of(obj: object) -> str | None:
    """An Edusign id from `{ID}`, `{id}`, a full object or a bare string (§5, §10.12)."""
    if isinstance(obj, str):
        return obj or None
    if isinstance(obj, Mapping):
        for key in ("ID", "id"):
            value = obj.get(key)
            if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
                return str(value)
    return None


def is_archived(obj: Mapping[str, Any]) -> bool:
    """Whether an Edusign person is archived: HIDDEN is 0/1, or a list of ids (§7.6, §10.12)."""
    hidden = obj.get("HIDDEN")
    if isinstance(hidden, list):
        own = id_of(obj)
        return own in {str(item) for item in hidden} if own is not None else bool(hidden)
    if isinstance(hidden, str):
        return hidden.strip().lower() in {"1", "true"}
    return bool(hidden)
