"""Desired state + link table → the writes that bring Edusign there.

Pure: no I/O. The planner keeps the promises that can be kept from data alone:

- unchanged content hash → no step (zero writes on a no-change run);
- absent is not deleted: a linked object missing from the read is cancelled only when the
  read was complete and covers it (its window and its key space), or the source said it
  was deleted;
- a broken read edits nothing: from an incomplete read, changed objects are deferred to
  the next complete read (a group read without the learners whose rows failed would
  lose them); new objects are still created;
- a session that has started (or lies in the past) is never edited or deleted: the
  change becomes a conflict; `protect_signed` does the same for sessions Edusign says
  carry signatures (the engine asks Edusign, then calls it);
- the deletion guard holds a plan that cancels more than the configured share.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal, get_args

from rollbridge.config import Guard
from rollbridge.identity import EDUSIGN_KINDS, EdusignKind, Link, split_key
from rollbridge.model import Window
from rollbridge.shaping import AccountDesired, Desired

Action = Literal["create", "update", "cancel"]
ACTIONS: tuple[Action, ...] = get_args(Action)

# Apply order (DESIGN): people and groups before the courses that point at them;
# cancellations run last, courses first so nothing points at a removed person.
APPLY_ORDER: tuple[EdusignKind, ...] = ("professor", "external", "student", "group", "course")
CANCEL_ORDER: tuple[EdusignKind, ...] = ("course", "group", "student", "professor", "external")


@dataclass(frozen=True, slots=True)
class Step:
    """One write: create or update towards `desired`, or cancel what `link` points at."""

    action: Action
    kind: EdusignKind
    key: str
    desired: Desired | None = None
    link: Link | None = None

    @property
    def api_id(self) -> str:
        if self.desired is not None:
            return self.desired.api_id
        assert self.link is not None
        return self.link.api_id


@dataclass(frozen=True, slots=True)
class Conflict:
    """A change we refuse to make on our own; a person decides."""

    kind: EdusignKind
    key: str
    reason: str
    label: str = ""


@dataclass(frozen=True, slots=True)
class AccountPlan:
    """Everything one sync would do in one account."""

    account: str
    steps: tuple[Step, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    unchanged: int = 0
    kept_absent: int = 0  # linked, missing from an incomplete read: left alone
    deferred: int = 0  # changed, but the read was incomplete: updated by a complete read

    def counts(self) -> dict[str, int]:
        """`{"create course": 12, ...}` for reports."""
        tally = Counter(f"{s.action} {s.kind}" for s in self.steps)
        return dict(sorted(tally.items()))

    def cancels(self) -> list[Step]:
        return [s for s in self.steps if s.action == "cancel"]

    @property
    def is_empty(self) -> bool:
        return not self.steps

    def ordered(self) -> list[list[Step]]:
        """Steps in apply order, one batch per kind and phase."""
        batches: list[list[Step]] = []
        for kind in APPLY_ORDER:
            batch = [s for s in self.steps if s.kind == kind and s.action != "cancel"]
            if batch:
                batches.append(batch)
        for kind in CANCEL_ORDER:
            batch = [s for s in self.steps if s.kind == kind and s.action == "cancel"]
            if batch:
                batches.append(batch)
        return batches


@dataclass(frozen=True, slots=True)
class PlanInputs:
    """What the planner needs beyond desired state and links."""

    now: datetime
    read_complete: bool
    window: Window | None = None
    deleted_keys: frozenset[str] = field(default_factory=frozenset)
    key_space: str | None = None


def _started(moment: datetime | None, now: datetime) -> bool:
    return moment is not None and moment <= now


def _in_scope(link: Link, inputs: PlanInputs) -> bool:
    """Whether the read would have returned this object if it still existed: same key
    space (e.g. the same Hyperplanning base) and, for a course, inside the window."""
    if inputs.key_space is not None and not split_key(link.key)[1].startswith(inputs.key_space):
        return False
    if link.kind != "course" or inputs.window is None:
        return True
    return link.start_at is not None and inputs.window.covers(link.start_at)


def plan_account(
    desired: AccountDesired, links: dict[str, Link], inputs: PlanInputs
) -> AccountPlan:
    """The steps that bring one account from `links` (what we wrote) to `desired`."""
    steps: list[Step] = []
    conflicts: list[Conflict] = []
    unchanged = 0
    kept_absent = 0
    deferred = 0
    wanted_keys: set[str] = set()
    for kind in EDUSIGN_KINDS:
        for key, want in desired.objects.get(kind, {}).items():
            wanted_keys.add(key)
            have = links.get(key)
            if have is None:
                steps.append(Step("create", kind, key, desired=want))
            elif have.content_hash == want.content_hash:
                unchanged += 1
            elif not inputs.read_complete:
                deferred += 1
            elif kind == "course" and (
                _started(have.start_at, inputs.now) or _started(want.start_at, inputs.now)
            ):
                conflicts.append(
                    Conflict(
                        kind,
                        key,
                        "changed in the planning system after it started; not edited, "
                        "because editing a started session can drop its signatures",
                        want.display,
                    )
                )
            else:
                steps.append(Step("update", kind, key, desired=want, link=have))
    for key, have in links.items():
        if key in wanted_keys:
            continue
        explicitly_deleted = key in inputs.deleted_keys
        if not explicitly_deleted and not (inputs.read_complete and _in_scope(have, inputs)):
            kept_absent += 1
            continue
        if have.kind == "external":
            kept_absent += 1  # Edusign has no archive route for externals (§7.8); leave them.
            continue
        if have.kind == "course" and _started(have.start_at, inputs.now):
            conflicts.append(
                Conflict(
                    "course",
                    key,
                    "removed from the planning system after it started; kept in Edusign "
                    "with its signatures",
                )
            )
            continue
        steps.append(Step("cancel", have.kind, key, link=have))
    return AccountPlan(
        desired.account, tuple(steps), tuple(conflicts), unchanged, kept_absent, deferred
    )


def courses_to_inspect(plan: AccountPlan) -> list[Step]:
    """Course updates and cancellations: the engine checks them for signatures first."""
    return [s for s in plan.steps if s.kind == "course" and s.action in ("update", "cancel")]


def protect_signed(plan: AccountPlan, signed_keys: Collection[str]) -> AccountPlan:
    """Turn edits and cancellations of sessions with signatures into conflicts."""
    if not signed_keys:
        return plan
    kept: list[Step] = []
    conflicts = list(plan.conflicts)
    for step in plan.steps:
        if step.kind == "course" and step.key in signed_keys and step.action != "create":
            verb = "edited" if step.action == "update" else "deleted"
            conflicts.append(
                Conflict(
                    "course",
                    step.key,
                    f"has signatures in Edusign; not {verb} (Edusign drops signatures on edit)",
                    step.desired.display if step.desired else "",
                )
            )
        else:
            kept.append(step)
    return replace(plan, steps=tuple(kept), conflicts=tuple(conflicts))


@dataclass(frozen=True, slots=True)
class GuardVerdict:
    """Whether a plan may run, and why not."""

    allowed: bool
    reasons: tuple[str, ...] = ()


def judge_deletions(
    plans: Iterable[AccountPlan],
    links_count: Mapping[str, Mapping[str, int]],
    guard: Guard,
    approved: dict[str, set[str]] | None = None,
) -> GuardVerdict:
    """Hold a plan whose cancellations exceed the guard, unless a person approved them."""
    approved = approved or {}
    reasons: list[str] = []
    for plan in plans:
        cancels = [s for s in plan.cancels() if s.key not in approved.get(plan.account, set())]
        by_kind = Counter(s.kind for s in cancels)
        for kind, count in sorted(by_kind.items()):
            total = links_count.get(plan.account, {}).get(kind, 0)
            share = count / total if total else 1.0
            if count > guard.max_delete_count or share > guard.max_delete_ratio:
                reasons.append(
                    f"account {plan.account}: would remove {count} {kind}(s) of {total} "
                    f"({share:.0%}); the guard allows {guard.max_delete_ratio:.0%} "
                    f"and at most {guard.max_delete_count}"
                )
    return GuardVerdict(not reasons, tuple(reasons))
