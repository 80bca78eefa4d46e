"""Does the web service user have write rights? A harmless write, for `rollbridge check`.

HPSW has no "my rights" call. The probe reads one course's compulsory-attendance flag
(`PresenceObligatoireCours`) and writes the same value back
(`ModifierPresenceObligatoireCours`): the base is unchanged, and a user without write
rights is refused (a Fault) the way the up flow's absence writes would be.
"""

from __future__ import annotations

from datetime import date, timedelta

from rollbridge.errors import AuthError, RollbridgeError
from rollbridge.sources.base import CheckResult
from rollbridge.sources.hyperplanning.client import HpswClient, HpswFault
from rollbridge.sources.hyperplanning.parse import as_flag, as_keys

NAME = "hyperplanning write rights"
_READ, _WRITE = "PresenceObligatoireCours", "ModifierPresenceObligatoireCours"


def probe_write_rights(client: HpswClient, first_day: date) -> CheckResult:
    """Write one course's compulsory flag back unchanged; say whether it was accepted."""
    if not client.has_operation("PortAbsences", _WRITE):
        return CheckResult(
            NAME,
            "warning",
            f"not probed: this web service has no {_WRITE}; write rights show on the first "
            "`sync up`",
        )
    try:
        listed = as_keys(
            client.call(
                "PortCours", "TousLesCoursEntre2Dates", first_day, first_day + timedelta(days=366)
            )
        )
        if not listed:
            return CheckResult(NAME, "warning", "not probed: the base has no course yet")
        course = listed[0]
        flag = as_flag(client.call("PortAbsences", _READ, course))
        client.call("PortAbsences", _WRITE, course, flag, write=True)
    except HpswFault as exc:
        return CheckResult(
            NAME,
            "error",
            f"the web service user cannot write ({exc.message}): `sync up` needs a user "
            "with modification rights in Hyperplanning",
        )
    except AuthError:
        raise
    except RollbridgeError as exc:
        return CheckResult(NAME, "error", f"could not probe write rights: {exc.message}")
    return CheckResult(
        NAME, "ok", f"the user can write (course {course}'s attendance flag written back unchanged)"
    )
