"""Routing: one account takes everything; rules split learners and their sessions."""

from __future__ import annotations

from rollbridge.routing import overlaps, route, rule_overlaps

from .core_builders import account, small_snapshot


def test_one_account_without_rules_takes_everything() -> None:
    snap = small_snapshot()
    assert route(snap, [account()])["main"] is snap


def test_learner_rules_split_learners_sessions_and_groups() -> None:
    snap = small_snapshot()
    routed = route(
        snap, [account("paris", {"org": ("paris",)}), account("lyon", {"org": ("lyon",)})]
    )
    paris, lyon = routed["paris"], routed["lyon"]
    assert sorted(p.source_id for p in paris.people if p.role == "learner") == ["l1", "l3"]
    assert sorted(p.source_id for p in lyon.people if p.role == "learner") == ["l2", "l4"]
    # every session has a learner of each site: it goes to both, with its instructor
    assert len(paris.sessions) == len(lyon.sessions) == 2
    assert [p.source_id for p in paris.people if p.role == "instructor"] == ["i1"]
    assert all(m.learner_id in {"l1", "l3"} for m in paris.memberships)
    assert [o.kind for o in overlaps(routed)] == ["session", "session"]


def test_a_session_without_routed_learners_stays_out() -> None:
    routed = route(small_snapshot(), [account("nobody", {"org": ("marseille",)})])
    assert routed["nobody"].sessions == ()
    assert routed["nobody"].people == ()


def test_overlapping_rules_are_warned_before_reading() -> None:
    warnings = rule_overlaps(
        [account("a", {"org": ("paris", "lyon")}), account("b", {"org": ("lyon",)})]
    )
    assert warnings == ["learners rule org = 'lyon' appears in accounts a, b"]
    both = route(
        small_snapshot(),
        [account("a", {"org": ("paris", "lyon")}), account("b", {"org": ("lyon",)})],
    )
    learner_overlaps = [o for o in overlaps(both) if o.kind == "learner"]
    assert sorted(o.source_id for o in learner_overlaps) == ["l2", "l4"]


def test_a_none_rule_takes_everything_but_the_values_it_names() -> None:
    from rollbridge.config import Rule

    not_lyon = Rule(match="none", attrs={"org": ("lyon",)})
    assert not_lyon.matches(frozenset({("org", "paris")}))
    assert not not_lyon.matches(frozenset({("org", "lyon"), ("org", "paris")}))
    assert not_lyon.matches(frozenset())
    snap = small_snapshot()
    excluded = account("a", {"org": ("lyon",)}).model_copy(update={"learners": not_lyon})
    learners = [p.source_id for p in route(snap, [excluded])["a"].people if p.role == "learner"]
    assert sorted(learners) == ["l1", "l3"]
    twice = rule_overlaps([excluded, excluded.model_copy(update={"name": "b"})])
    assert twice == []  # excluding the same value in two accounts shares nothing
