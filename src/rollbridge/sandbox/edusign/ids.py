"""Edusign-looking object ids, reproducible from a seed."""

from __future__ import annotations

import random
import string

_ID_ALPHABET = string.ascii_lowercase + string.digits


class IdMaker:
    """Edusign-looking ids (15–16 lowercase alphanumerics), reproducible from a seed."""

    def __init__(self, seed: int | None) -> None:
        self._rng = random.Random(seed)
        self._used: set[str] = set()

    def new(self) -> str:
        """A fresh object id, never handed out before by this maker."""
        while True:
            size = 15 + self._rng.randrange(2)
            candidate = "".join(self._rng.choices(_ID_ALPHABET, k=size))
            if candidate not in self._used:
                self._used.add(candidate)
                return candidate

    def entry(self) -> str:
        """A Mongo-style `_id` (24 hex digits) for an attendance entry; format is a guess."""
        return f"{self._rng.getrandbits(96):024x}"
