"""What the emulated school stores and answers: wire-shaped rows and the business refusal.

Rows are UPPER_SNAKE dicts with a duplicate lowercase `id`, `""` and `[]` defaults, `0/1`
flags, instants as `2025-12-11T18:18:38.000Z`; attendance entries (`course.STUDENTS[]`) are
camelCase. Reads hand out fresh copies so callers never reach a stored row.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import Any

Obj = dict[str, Any]
Message = str | list[str]

FILES_HOST = "https://files.sandbox.edusign.test"


class Refused(Exception):
    """A business failure: Edusign answers HTTP 200 `{"status":"error","message":…}`."""

    def __init__(self, message: Message) -> None:
        super().__init__(message if isinstance(message, str) else "; ".join(message))
        self.message = message


def copy_row(row: Obj) -> Obj:
    """A copy deep enough that callers cannot reach the stored row (rows nest one level)."""
    out = row.copy()
    for key, value in out.items():
        if isinstance(value, list):
            out[key] = [v.copy() if isinstance(v, dict) else v for v in value]
        elif isinstance(value, dict):
            out[key] = value.copy()
    return out


def fresh_row(defaults: Mapping[str, Any]) -> Obj:
    """The defaults of a kind, with lists and dicts of their own."""
    return {k: v.copy() if isinstance(v, list | dict) else v for k, v in defaults.items()}


def dedup(ids: Iterable[str]) -> list[str]:
    """`ids` without repeats, in first-seen order."""
    return list(dict.fromkeys(ids))


def paginate(rows: Iterable[Obj], page: int, size: int) -> list[Obj]:
    """Copies of the rows on 0-based page `page` of `size` rows."""
    return [copy_row(r) for r in itertools.islice(rows, page * size, (page + 1) * size)]
