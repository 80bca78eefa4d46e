"""Planning: zero writes when nothing changed, absent is not deleted, sessions are protected."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from rollbridge.config import Guard
from rollbridge.identity import Link
from rollbridge.model import Group, Membership, Person, Session, Snapshot, Window
from rollbridge.plan import AccountPlan, PlanInputs, judge_deletions, plan_account, protect_signed
from rollbridge.shaping import AccountDesired, shape_account

from .core_builders import T0, ctx, small_snapshot

BEFORE = T0 - timedelta(days=10)
WINDOW = Window(BEFORE.date(), (T0 + timedelta(days=300)).date())


def inputs(
    now: datetime = BEFORE, complete: bool = True, deleted: frozenset[str] = frozenset()
) -> PlanInputs:
    return PlanInputs(now=now, read_complete=complete, window=WINDOW, deleted_keys=deleted)


def applied(plan: AccountPlan, links: dict[str, Link]) -> dict[str, Link]:
    """What the link table holds after every step succeeded (the engine's bookkeeping)."""
    result = dict(links)
    for step in plan.steps:
        if step.action == "cancel":
            result.pop(step.key)
            continue
        want = step.desired
        assert want is not None
        edusign_id = links[step.key].edusign_id if step.key in links else f"id-{step.key}"
        result[step.key] = Link(
            step.key,
            step.kind,
            want.api_id,
            edusign_id,
            want.content_hash,
            want.start_at,
            want.end_at,
        )
    return result


def desired(snap: Snapshot) -> AccountDesired:
    return shape_account(snap, ctx())


def test_first_plan_creates_all_then_nothing() -> None:
    want = desired(small_snapshot())
    first = plan_account(want, {}, inputs())
    assert first.counts() == {
        "create course": 2,
        "create group": 2,
        "create professor": 1,
        "create student": 4,
    }
    links = applied(first, {})
    again = plan_account(want, links, inputs())
    assert again.is_empty and again.unchanged == 9


def test_moved_session_is_one_update() -> None:
    snap = small_snapshot()
    links = applied(plan_account(desired(snap), {}, inputs()), {})
    moved = replace(
        snap.sessions[0],
        start_at=snap.sessions[0].start_at + timedelta(hours=1),
        end_at=snap.sessions[0].end_at + timedelta(hours=1),
    )
    plan = plan_account(desired(replace(snap, sessions=(moved, snap.sessions[1]))), links, inputs())
    assert [(s.action, s.key) for s in plan.steps] == [("update", "session:s1")]


def test_absent_from_an_incomplete_read_is_kept() -> None:
    snap = small_snapshot()
    links = applied(plan_account(desired(snap), {}, inputs()), {})
    empty = plan_account(desired(Snapshot()), links, inputs(complete=False))
    assert empty.is_empty and empty.kept_absent == 9
    complete = plan_account(desired(replace(snap, sessions=snap.sessions[:1])), links, inputs())
    assert [(s.action, s.key) for s in complete.steps] == [("cancel", "session:s2")]


def test_an_incomplete_read_defers_changes_but_creates_new_objects() -> None:
    snap = small_snapshot()
    links = applied(plan_account(desired(snap), {}, inputs()), {})
    renamed = replace(snap.sessions[0], name="Renamed")
    extra = replace(snap.sessions[1], source_id="s3")
    changed = replace(snap, sessions=(renamed, snap.sessions[1], extra))
    plan = plan_account(desired(changed), links, inputs(complete=False))
    assert [(s.action, s.key) for s in plan.steps] == [("create", "session:s3")]
    assert plan.deferred == 1
    complete = plan_account(desired(changed), links, inputs())
    assert sorted((s.action, s.key) for s in complete.steps) == [
        ("create", "session:s3"),
        ("update", "session:s1"),
    ]


def test_links_of_another_key_space_are_never_cancelled() -> None:
    """Last year's Hyperplanning base: a complete read of the new base leaves it alone."""
    snap = small_snapshot()
    links = applied(plan_account(desired(snap), {}, inputs()), {})
    other = replace(inputs(), key_space="b2:")
    plan = plan_account(desired(Snapshot(key_space="b2:")), links, other)
    assert plan.is_empty and plan.kept_absent == len(links)
    own = replace(inputs(), key_space="s")  # the sessions "s1", "s2" are in this space
    plan = plan_account(desired(replace(snap, sessions=snap.sessions[:1])), links, own)
    assert [(s.action, s.key) for s in plan.steps] == [("cancel", "session:s2")]


def test_explicit_deletions_apply_even_from_a_delta() -> None:
    snap = small_snapshot()
    links = applied(plan_account(desired(snap), {}, inputs()), {})
    plan = plan_account(
        desired(Snapshot()), links, inputs(complete=False, deleted=frozenset({"learner:l4"}))
    )
    assert [(s.action, s.key) for s in plan.steps] == [("cancel", "learner:l4")]


def test_started_sessions_are_never_edited_or_deleted() -> None:
    snap = small_snapshot()
    links = applied(plan_account(desired(snap), {}, inputs()), {})
    later = T0 + timedelta(days=1, hours=1)  # s1 has started
    renamed = replace(snap.sessions[0], name="Renamed")
    plan = plan_account(desired(replace(snap, sessions=(renamed,))), links, inputs(now=later))
    assert [(s.action, s.key) for s in plan.steps] == [("cancel", "session:s2")]
    assert [(c.key, "after it started" in c.reason) for c in plan.conflicts] == [
        ("session:s1", True)
    ]


def test_signed_sessions_become_conflicts() -> None:
    snap = small_snapshot()
    links = applied(plan_account(desired(snap), {}, inputs()), {})
    plan = plan_account(desired(replace(snap, sessions=snap.sessions[:1])), links, inputs())
    protected = protect_signed(plan, {"session:s2"})
    assert protected.is_empty
    assert "signatures" in protected.conflicts[0].reason


def test_deletion_guard_counts_per_kind() -> None:
    snap = small_snapshot()
    links = applied(plan_account(desired(snap), {}, inputs()), {})
    plan = plan_account(desired(replace(snap, sessions=())), links, inputs())
    counts = {"main": Counter(link.kind for link in links.values())}
    verdict = judge_deletions([plan], counts, Guard(max_delete_ratio=0.5, max_delete_count=50))
    assert not verdict.allowed and "2 course(s) of 2" in verdict.reasons[0]
    assert judge_deletions([plan], counts, Guard(max_delete_ratio=1.0, max_delete_count=50)).allowed
    approved = {"main": {"session:s1", "session:s2"}}
    assert judge_deletions([plan], counts, Guard(), approved).allowed


# ---------------------------------------------------------------- property test

names = st.text(
    alphabet=st.characters(codec="utf-8", categories=("L", "Zs", "Pd")), min_size=1, max_size=8
)


@st.composite
def snapshots(draw: st.DrawFn) -> Snapshot:
    n_learners = draw(st.integers(0, 6))
    n_groups = draw(st.integers(1, 3))
    learners = [
        Person(
            f"l{i}",
            "learner",
            draw(names),
            draw(names),
            draw(st.sampled_from([f"l{i}@s.test", "bad@", None])),
        )
        for i in range(n_learners)
    ]
    teachers = [
        Person(f"i{i}", "instructor", draw(names), "Prof", f"i{i}@s.test") for i in range(2)
    ]
    groups = [Group(f"g{i}", draw(names)) for i in range(n_groups)]
    members = [
        Membership(f"l{i}", f"g{draw(st.integers(0, n_groups - 1))}")
        for i in range(n_learners)
        if draw(st.booleans())
    ]
    sessions = []
    for i in range(draw(st.integers(0, 6))):
        start = T0 + timedelta(hours=draw(st.integers(-48, 2000)))
        sessions.append(
            Session(
                f"s{i}",
                draw(names),
                start,
                start + timedelta(minutes=draw(st.integers(-30, 240))),
                instructor_ids=tuple(
                    draw(st.lists(st.sampled_from(["i0", "i1", "i9"]), max_size=2, unique=True))
                ),
                group_ids=tuple(
                    draw(
                        st.lists(
                            st.sampled_from([g.source_id for g in groups]), max_size=2, unique=True
                        )
                    )
                ),
            )
        )
    return Snapshot(
        people=(*learners, *teachers),
        groups=tuple(groups),
        sessions=tuple(sessions),
        memberships=tuple(members),
    )


@settings(max_examples=150, deadline=None)
@given(first=snapshots(), second=snapshots(), now_hours=st.integers(-100, 3000))
def test_apply_then_plan_again_is_empty(first: Snapshot, second: Snapshot, now_hours: int) -> None:
    now = T0 + timedelta(hours=now_hours)
    links = applied(plan_account(desired(first), {}, inputs(now=now)), {})
    plan = plan_account(desired(second), links, inputs(now=now))
    links = applied(plan, links)
    again = plan_account(desired(second), links, inputs(now=now))
    assert again.is_empty, again.counts()
