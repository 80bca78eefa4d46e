"""Session batches: build only the sessions whose inputs changed since the last run in sync.

A source may hand its sessions over as `SessionBatch`es (`model.py`). After a run in which
every session of a batch ended in sync in every account, the batch is *settled*: the store
keeps the fingerprint it was built from, its course links are tagged with it, and its
rejections are kept for the report. On the next run a batch whose full fingerprint (the
source's, plus this tenant's configuration and every person, group and membership of the
read) is unchanged, and whose tagged links are all still there, is *reused*: it is not
built, its links are not loaded, and it counts as unchanged. Anything else is built and
planned as usual.

Why this is safe:
- the fingerprint covers every input of the batch's sessions (the source's promise) and
  every input of shaping and routing (here), so equal fingerprints mean equal sessions;
- a batch is forgotten before a run that rebuilds it writes anything (`forget`), and
  settled only after that run applied without a failure (`settlement`), so a run that stops
  half-way leaves nothing stale;
- a reused batch's links must all be there (counted per account), and a link no settled
  batch wants is untagged, so it is always loaded and planned (a cancellation retried, a
  conflict reported again);
- incomplete reads reuse and settle nothing; `sync down --full` rebuilds everything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

import rollbridge
from rollbridge.config import TenantConfig
from rollbridge.fingerprint import Fingerprint
from rollbridge.identity import source_key
from rollbridge.model import Rejected, Session, Snapshot
from rollbridge.store.batches import SettledBatch

# Bump when shaping, routing or planning change what a batch's sessions become.
BATCH_FORMAT = "1"


def config_salt(config: TenantConfig, system: str) -> str:
    """A digest of everything in the configuration that shapes or routes sessions (no
    secret: API keys are left out)."""
    accounts = [
        account.model_dump(mode="json", include={"name", "base_url", "learners", "sessions"})
        for account in config.accounts
    ]
    return (
        Fingerprint("rollbridge session batches")
        .add(BATCH_FORMAT)
        .add(rollbridge.__version__)
        .add(config.tenant)
        .add(system)
        .add(config.effective_api_type)
        .add(config.options.model_dump_json())
        .add(repr(accounts))
        .hexdigest()
    )


def records_digest(snapshot: Snapshot) -> str:
    """A digest of what routing and shaping read of everything but the sessions, and
    nothing else: a learner renamed or a group renamed leaves it unchanged.

    - people, in order: id, role, whether there is a name, the e-mail as given (shaping
      keeps people with a name and a valid e-mail, the first of a repeated one), and the
      routing attributes;
    - group ids (shaping rejects a session of an unknown group) and memberships (rosters,
      routing);
    - the key space and the window.
    Tutors and tutor links are left out: no session refers to them.
    """
    people = tuple(
        (
            p.source_id,
            p.role,
            bool(p.first_name.strip() or p.last_name.strip()),
            p.email,
            tuple(sorted(p.attrs)),
        )
        for p in snapshot.people
        if p.role != "tutor"
    )
    memberships = tuple((m.learner_id, m.group_id) for m in snapshot.memberships)
    # Tuples of texts: their `repr` is stable and written by C (4,000 people per run).
    return (
        Fingerprint("records")
        .add(repr(people).encode())
        .add(repr(tuple(g.source_id for g in snapshot.groups)).encode())
        .add(repr(memberships).encode())
        .add((snapshot.key_space, snapshot.window))
        .hexdigest()
    )


@dataclass(frozen=True, slots=True)
class Expansion:
    """A snapshot with its changed batches built, and what the rest of the run needs to
    know about every batch."""

    snapshot: Snapshot  # `sessions` now holds the built batches' sessions too
    fingerprints: dict[str, str] = field(default_factory=dict)  # every batch of the read
    built: dict[str, frozenset[str]] = field(default_factory=dict)  # id -> session keys
    built_rejected: dict[str, tuple[Rejected, ...]] = field(default_factory=dict)
    reused: dict[str, SettledBatch] = field(default_factory=dict)

    @property
    def reused_sessions(self) -> int:
        return sum(batch.sessions for batch in self.reused.values())

    def reused_links(self, account: str) -> int:
        """Course links of `account` left unloaded because their batch was reused."""
        return sum(batch.accounts.get(account, 0) for batch in self.reused.values())

    def reused_rejected(self) -> list[Rejected]:
        """The rejections the reused batches had when they were settled."""
        return [Rejected(*row) for batch in self.reused.values() for row in batch.rejected]

    def batch_of(self) -> dict[str, str]:
        """Course link key -> id of the built batch it belongs to."""
        return {key: batch for batch, keys in self.built.items() for key in keys}


def _same_links(settled: SettledBatch, counted: Mapping[str, int]) -> bool:
    want = {account: n for account, n in settled.accounts.items() if n}
    have = {account: n for account, n in counted.items() if n}
    return want == have


def expand(
    snapshot: Snapshot,
    *,
    salt: str,
    settled: Mapping[str, SettledBatch],
    link_counts: Mapping[str, Mapping[str, int]],
    rebuild_all: bool = False,
) -> Expansion:
    """Build the batches that changed (all of them when `rebuild_all` or the read is
    incomplete); reuse the others. Pure: the store's rows are passed in."""
    if not snapshot.batches:
        return Expansion(snapshot)
    records = records_digest(snapshot)
    reuse_allowed = snapshot.complete and not rebuild_all
    sessions: list[Session] = list(snapshot.sessions)
    rejected: list[Rejected] = list(snapshot.rejected)
    fingerprints: dict[str, str] = {}
    built: dict[str, frozenset[str]] = {}
    built_rejected: dict[str, tuple[Rejected, ...]] = {}
    reused: dict[str, SettledBatch] = {}
    for batch in snapshot.batches:
        full = Fingerprint().add(salt).add(records).add(batch.fingerprint).hexdigest()
        fingerprints[batch.batch_id] = full
        known = settled.get(batch.batch_id)
        if (
            reuse_allowed
            and known is not None
            and known.fingerprint == full
            and _same_links(known, link_counts.get(batch.batch_id, {}))
        ):
            reused[batch.batch_id] = known
            continue
        content = batch.build()
        sessions.extend(content.sessions)
        rejected.extend(content.rejected)
        built[batch.batch_id] = frozenset(
            source_key("session", s.source_id) for s in content.sessions
        )
        built_rejected[batch.batch_id] = content.rejected
    expanded = replace(snapshot, sessions=tuple(sessions), rejected=tuple(rejected), batches=())
    return Expansion(expanded, fingerprints, built, built_rejected, reused)


@dataclass(frozen=True, slots=True)
class AccountOutcome:
    """What one account's run says about the built batches: the course keys it wants (in
    sync once applied), and the keys left out of sync (conflicts)."""

    account: str
    wanted_courses: frozenset[str]
    unsettled_keys: frozenset[str]
    shaping_rejected: tuple[Rejected, ...] = ()


@dataclass(frozen=True, slots=True)
class Settlement:
    """The store update after a run: batches settled, links tagged, the rest forgotten."""

    settled: tuple[SettledBatch, ...]
    link_batches: dict[str, dict[str, str]]  # account -> {course key: batch id}


def settlement(expansion: Expansion, outcomes: Iterable[AccountOutcome]) -> Settlement:
    """The built batches every account holds in sync, ready to be recorded. Call only
    after a complete read applied without a failure."""
    outcomes = list(outcomes)
    batch_of = expansion.batch_of()
    unsettled: set[str] = set()
    for outcome in outcomes:
        unsettled.update(batch_of[k] for k in outcome.unsettled_keys if k in batch_of)
    kept_rejections: dict[str, list[Rejected]] = {
        batch: list(items) for batch, items in expansion.built_rejected.items()
    }
    link_batches: dict[str, dict[str, str]] = {}
    counts: dict[str, dict[str, int]] = {}
    for outcome in outcomes:
        tags: dict[str, str] = {}
        for key in outcome.wanted_courses:
            batch = batch_of.get(key)
            if batch is not None and batch not in unsettled:
                tags[key] = batch
                per_account = counts.setdefault(batch, {})
                per_account[outcome.account] = per_account.get(outcome.account, 0) + 1
        link_batches[outcome.account] = tags
        for item in outcome.shaping_rejected:
            batch = batch_of.get(source_key("session", item.source_id))
            if item.kind == "session" and batch is not None:
                found = kept_rejections.setdefault(batch, [])
                if item not in found:
                    found.append(item)
    settled = tuple(
        SettledBatch(
            batch_id=batch,
            fingerprint=expansion.fingerprints[batch],
            sessions=len(keys),
            accounts=counts.get(batch, {}),
            rejected=tuple(
                (r.kind, r.source_id, r.reason, r.label) for r in kept_rejections.get(batch, ())
            ),
        )
        for batch, keys in expansion.built.items()
        if batch not in unsettled
    )
    return Settlement(settled, link_batches)
