"""One kind's rows (students, courses…) with the indexes the lookup routes need."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from rollbridge.sandbox.edusign.wire import Obj, Refused, dedup


class Table:
    """One kind's rows in creation order, indexed by `API_ID` (not unique) and e-mail."""

    def __init__(self, missing: str) -> None:
        self.rows: dict[str, Obj] = {}
        self.missing = missing
        self._by_api: dict[str, list[str]] = {}
        self._by_email: dict[str, str] = {}

    def get(self, object_id: str) -> Obj:
        """The stored row, or `Refused` with the kind's "not found" message."""
        row = self.rows.get(object_id)
        if row is None:
            raise Refused(self.missing)
        return row

    def existing(self, ids: Iterable[str]) -> list[str]:
        """`ids` without repeats, once each is known to exist."""
        wanted = dedup(ids)
        for object_id in wanted:
            self.get(object_id)
        return wanted

    def add(self, row: Obj) -> None:
        """Store a new row."""
        self.rows[row["ID"]] = row
        self._index(row)

    def change(self, row: Obj, fields: Mapping[str, Any], stamp: str) -> None:
        """Update a stored row in place and stamp `DATE_UPDATED`."""
        keys = (row.get("API_ID"), row.get("EMAIL"))
        if (fields.get("API_ID", keys[0]), fields.get("EMAIL", keys[1])) != keys:
            self._unindex(row)  # only then: get-id keeps answering the oldest holder
            row.update(fields)
            self._index(row)
        else:
            row.update(fields)
        row["DATE_UPDATED"] = stamp

    def remove(self, object_id: str) -> None:
        """Drop a stored row."""
        self._unindex(self.rows.pop(object_id))

    def id_for(self, api_id: str, missing: str) -> Obj:
        """`{ID}` of the oldest row holding `api_id`, or `Refused(missing)`."""
        ids = self._by_api.get(api_id)
        if not ids:
            raise Refused(missing)
        return {"ID": ids[0]}  # the oldest one: the API does not enforce uniqueness

    def email_owner(self, email: str) -> str | None:
        """The ID of the first row holding `email` (case-insensitive), if any."""
        return self._by_email.get(email.lower())

    def duplicates(self) -> Iterator[tuple[str, list[str]]]:
        """Each `API_ID` held by several rows, with their IDs."""
        for api_id, ids in self._by_api.items():
            if len(ids) > 1:
                yield api_id, list(ids)

    def _index(self, row: Obj) -> None:
        if row.get("API_ID"):
            self._by_api.setdefault(row["API_ID"], []).append(row["ID"])
        if row.get("EMAIL"):
            self._by_email.setdefault(row["EMAIL"].lower(), row["ID"])

    def _unindex(self, row: Obj) -> None:
        ids = self._by_api.get(row.get("API_ID") or "")
        if ids is not None:
            ids.remove(row["ID"])
            if not ids:
                del self._by_api[row["API_ID"]]
        email = (row.get("EMAIL") or "").lower()
        if self._by_email.get(email) == row["ID"]:
            del self._by_email[email]
