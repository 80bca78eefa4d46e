"""Is the web service on the right base? The yearly planning change, judged. Pure.

One HPSW instance serves one base (one school year's planning); each summer the school
opens a new base and relinks the web service (API notes §8). rollbridge keeps one URL per
school year and never maps keys across bases, so:

- `DatePremierJourBase()` inside the configured school year (or shortly before it: bases
  open in summer) → ok;
- a first day long before the school year → the service still points to last year's
  planning: a warning, the school must relink it;
- a first day after the school year → a later year's planning: a warning, the
  configuration's school year needs updating;
- a base id different from the one recorded for this school year → the base switched
  mid-year (or the URL changed): stop, before planning mass deletions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from rollbridge.sources.base import CheckResult, CheckStatus

BaseStatus = Literal["ok", "last_year", "later_year", "switched"]
Severity = Literal["ok", "warning", "stop"]

# A base for year N usually opens in June–August of N; last year's opened ~12 months earlier.
SUMMER_LEAD = timedelta(days=120)

_SEVERITY: dict[BaseStatus, Severity] = {
    "ok": "ok",
    "last_year": "warning",
    "later_year": "warning",
    "switched": "stop",
}
_CHECK_STATUS: dict[Severity, CheckStatus] = {"ok": "ok", "warning": "warning", "stop": "error"}


@dataclass(frozen=True, slots=True)
class BaseVerdict:
    """What `check_base` concluded, in words a school can act on."""

    status: BaseStatus
    base_id: str
    message: str

    @property
    def severity(self) -> Severity:
        """ok, warning (sync may go on) or stop (no sync until a person acts)."""
        return _SEVERITY[self.status]

    def as_check(self) -> CheckResult:
        """The verdict as a line of `rollbridge check`."""
        return CheckResult("hyperplanning base", _CHECK_STATUS[self.severity], self.message)


def check_base(
    first_day: date,
    school_year_start: date,
    school_year_end: date,
    previous_base_id: str | None,
    *,
    base_id: str,
) -> BaseVerdict:
    """Judge the base the web service serves against the school year and the last run."""
    day = first_day.isoformat()
    if previous_base_id is not None and previous_base_id != base_id:
        return BaseVerdict(
            "switched",
            base_id,
            f"The Hyperplanning base changed mid-year (its first day is now {day}, or the "
            "web service URL changed): rollbridge stopped rather than delete and recreate "
            "every session. Check in Hyperplanning that the web service is linked to the "
            f"current year's planning ({school_year_start} to {school_year_end}). If the "
            "school really opened a new base, configure it as a new school year with its "
            "cut-over date; keys are never carried from one base to another.",
        )
    if first_day < school_year_start - SUMMER_LEAD:
        return BaseVerdict(
            "last_year",
            base_id,
            f"The Hyperplanning web service points to last year's planning (base starting "
            f"{day}, school year starting {school_year_start}). Link the web service to "
            "this year's planning in Hyperplanning.",
        )
    if first_day > school_year_end:
        return BaseVerdict(
            "later_year",
            base_id,
            f"The Hyperplanning web service points to a later year's planning (base "
            f"starting {day}, school year ending {school_year_end}). Update the school year "
            "in the configuration, or link the service back to this year's planning.",
        )
    return BaseVerdict(
        "ok", base_id, f"Hyperplanning base starting {day} belongs to this school year."
    )
