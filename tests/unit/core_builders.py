"""Small builders for the pure-core tests: records and configs with sensible defaults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rollbridge.config import Account, Options, Rule
from rollbridge.model import Group, Membership, Person, Session, Snapshot, attrs_of
from rollbridge.shaping import ShapeContext

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def learner(i: int, **attrs: str) -> Person:
    return Person(
        f"l{i}", "learner", f"Léa{i}", f"Martin{i}", f"l{i}@school.test", attrs=attrs_of(attrs)
    )


def instructor(i: int) -> Person:
    return Person(f"i{i}", "instructor", f"Ivan{i}", f"Prof{i}", f"i{i}@school.test")


def session(
    i: int,
    *,
    groups: tuple[str, ...] = ("g1",),
    teachers: tuple[str, ...] = ("i1",),
    start: datetime = T0,
    **attrs: str,
) -> Session:
    return Session(
        f"s{i}",
        f"Cours {i}",
        start + timedelta(days=i),
        start + timedelta(days=i, hours=2),
        instructor_ids=teachers,
        group_ids=groups,
        room_name="Salle Turing",
        room_code="B204",
        attrs=attrs_of(attrs),
    )


def small_snapshot() -> Snapshot:
    learners = tuple(learner(i, org="paris" if i % 2 else "lyon") for i in range(1, 5))
    return Snapshot(
        people=(*learners, instructor(1)),
        groups=(Group("g1", "BTS SIO 1"), Group("g2", "BTS SIO 2")),
        sessions=(session(1), session(2, groups=("g2",))),
        memberships=(
            Membership("l1", "g1"),
            Membership("l2", "g1"),
            Membership("l3", "g2"),
            Membership("l4", "g2"),
        ),
    )


def account(name: str = "main", learners: dict[str, tuple[str, ...]] | None = None) -> Account:
    return Account(name=name, api_key="k-" + name, learners=Rule(attrs=learners or {}))


def ctx(options: Options | None = None, account_name: str = "main") -> ShapeContext:
    return ShapeContext("t1", "files", account_name, "rollbridge:files", options or Options())
