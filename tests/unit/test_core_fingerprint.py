"""Fingerprints are the same in every process, and differ when any field differs."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from rollbridge.fingerprint import Fingerprint, canonical, fingerprint
from rollbridge.model import Person, Session, attrs_of

PERSON = Person(
    "s1",
    "learner",
    "Ana",
    "Lopez",
    "ana@cfa.test",
    attrs=attrs_of({"family:Promo": ["BTS 1", "BTS 2", "Alternance"], "site": "36"}),
)

SCRIPT = """
from rollbridge.fingerprint import fingerprint
from rollbridge.model import Person, attrs_of
p = Person("s1", "learner", "Ana", "Lopez", "ana@cfa.test",
           attrs=attrs_of({"family:Promo": ["BTS 1", "BTS 2", "Alternance"], "site": "36"}))
print(fingerprint(p, {"b": 2, "a": 1}, {"x", "y", "z"}))
"""


def test_the_same_record_gives_the_same_digest_whatever_the_hash_seed() -> None:
    digests = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True
        )
        digests.add(out.stdout.strip())
    assert len(digests) == 1
    assert digests == {fingerprint(PERSON, {"b": 2, "a": 1}, {"x", "y", "z"})}


@pytest.mark.parametrize(
    "changed",
    [
        Person("s2", "learner", "Ana", "Lopez", "ana@cfa.test", attrs=PERSON.attrs),
        Person("s1", "learner", "Anna", "Lopez", "ana@cfa.test", attrs=PERSON.attrs),
        Person("s1", "learner", "Ana", "Lopez", None, attrs=PERSON.attrs),
        Person("s1", "learner", "Ana", "Lopez", "ana@cfa.test", badge_id="B1", attrs=PERSON.attrs),
        Person("s1", "learner", "Ana", "Lopez", "ana@cfa.test", attrs=attrs_of({"site": "36"})),
    ],
)
def test_any_field_changed_changes_the_digest(changed: Person) -> None:
    assert fingerprint(changed) != fingerprint(PERSON)


def test_boundaries_between_values_count() -> None:
    assert fingerprint("ab", "c") != fingerprint("a", "bc")
    assert Fingerprint().add(b"ab").add(b"c").hexdigest() != fingerprint(b"a", b"bc")
    assert fingerprint(("a",)) != fingerprint("a")


def test_times_dates_and_zones_have_a_stable_form() -> None:
    start = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    session = Session("c1:w30", "Maths", start, start.replace(hour=3))
    assert "2026, 3, 29, 1, 30" in canonical(session)
    assert canonical(ZoneInfo("Europe/Paris")) == repr("tz:Europe/Paris")
    assert fingerprint(date(2026, 9, 1)) != fingerprint(date(2026, 9, 2))


def test_unknown_objects_are_refused_rather_than_digested_by_address() -> None:
    with pytest.raises(TypeError):
        canonical(object())
