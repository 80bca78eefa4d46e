"""A tiny school written as the "files" source, editable by tests.

OneRoster 1.2 bundle (manifest, orgs, academicSessions, users, roles, classes,
enrollments) plus `sessions.csv` with local wall-clock times in Europe/Paris. Tests change
the rows, call `write()`, and sync again.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from rollbridge.sandbox.school_files import CLASSES_COLUMNS, SESSIONS_COLUMNS, USERS_COLUMNS

USER_COLUMNS = list(USERS_COLUMNS)
SESSION_COLUMNS = list(SESSIONS_COLUMNS)


@dataclass
class TinySchool:
    """8 learners in 2 classes, 2 instructors, 2 tutors, sessions on school days."""

    folder: Path
    first_day: date
    users: list[dict[str, str]] = field(default_factory=list)
    roles: list[dict[str, str]] = field(default_factory=list)
    classes: list[dict[str, str]] = field(default_factory=list)
    enrollments: list[dict[str, str]] = field(default_factory=list)
    sessions: list[dict[str, str]] = field(default_factory=list)
    extra_session_lines: list[str] = field(default_factory=list)

    @classmethod
    def build(cls, folder: Path, first_day: date, *, days: int = 10) -> TinySchool:
        school = cls(folder, first_day)
        for i in range(1, 9):
            school.add_user(
                f"stu-{i}",
                "student",
                f"Élève{i}",
                f"Dupont-{i}",
                f"eleve{i}@cfa.test",
                badge=f"B{i:04d}",
                agents=f"tut-{1 + i % 2}",
            )
        school.add_user("tea-1", "teacher", "Marie", "Curie", "marie.curie@cfa.test")
        school.add_user("tea-2", "teacher", "Jean", "Moulin", "jean.moulin@cfa.test")
        school.add_user("tut-1", "relative", "Paul", "Maître", "paul.maitre@entreprise.test")
        school.add_user("tut-2", "relative", "Anne", "Tutrice", "anne.tutrice@entreprise.test")
        school.classes = [
            {"sourcedId": "cls-a", "title": "BTS SIO 1 — Groupe A", "classCode": "SIO1A"},
            {"sourcedId": "cls-b", "title": "BTS SIO 1 — Groupe B", "classCode": "SIO1B"},
        ]
        for i in range(1, 9):
            school.enrol(f"stu-{i}", "cls-a" if i <= 4 else "cls-b", "student")
        school.enrol("tea-1", "cls-a", "teacher")
        school.enrol("tea-2", "cls-b", "teacher")
        day = first_day
        n = 0
        while len({s["start"][:10] for s in school.sessions}) < days:
            if day.weekday() < 5:
                n += 1
                school.add_session(
                    f"ses-{n:03d}a", "Mathématiques", day, "09:00", "11:00", "cls-a", "tea-1"
                )
                school.add_session(
                    f"ses-{n:03d}b",
                    "Anglais professionnel",
                    day,
                    "14:00",
                    "16:30",
                    "cls-b",
                    "tea-2",
                )
            day += timedelta(days=1)
        return school

    def add_user(
        self,
        uid: str,
        role: str,
        given: str,
        family: str,
        email: str,
        *,
        badge: str = "",
        agents: str = "",
    ) -> None:
        row = dict.fromkeys(USER_COLUMNS, "")
        row.update(
            sourcedId=uid,
            status="active",
            enabledUser="true",
            username=uid,
            givenName=given,
            familyName=family,
            email=email,
            identifier=uid.upper(),
            agentSourcedIds=agents,
            primaryOrgSourcedId="org-1",
            userIds=f"{{badge:{badge}}}" if badge else "",
        )
        self.users.append(row)
        self.roles.append(
            {
                "sourcedId": f"role-{uid}",
                "status": "active",
                "dateLastModified": "",
                "userSourcedId": uid,
                "roleType": "primary",
                "role": role,
                "orgSourcedId": "org-1",
                "userProfileSourcedId": "",
                "beginDate": "",
                "endDate": "",
            }
        )

    def enrol(self, uid: str, cls: str, role: str) -> None:
        self.enrollments.append(
            {
                "sourcedId": f"enr-{uid}-{cls}",
                "status": "active",
                "dateLastModified": "",
                "classSourcedId": cls,
                "schoolSourcedId": "org-1",
                "userSourcedId": uid,
                "role": role,
                "primary": "true",
                "beginDate": "",
                "endDate": "",
            }
        )

    def add_session(
        self,
        sid: str,
        title: str,
        day: date,
        start: str,
        end: str,
        cls: str,
        teacher: str,
        **extra: str,
    ) -> None:
        row = dict.fromkeys(SESSION_COLUMNS, "")
        row.update(
            session_id=sid,
            title=title,
            start=f"{day.isoformat()}T{start}",
            end=f"{day.isoformat()}T{end}",
            class_ids=cls,
            instructor_ids=teacher,
            room_name="Salle Turing",
            room_code="B204",
        )
        row.update(extra)
        self.sessions.append(row)

    def session(self, sid: str) -> dict[str, str]:
        return next(s for s in self.sessions if s["session_id"] == sid)

    def user(self, uid: str) -> dict[str, str]:
        return next(u for u in self.users if u["sourcedId"] == uid)

    @property
    def oneroster(self) -> Path:
        return self.folder / "oneroster"

    @property
    def sessions_csv(self) -> Path:
        return self.folder / "sessions.csv"

    def write(self) -> None:
        """Write every file (atomic enough for tests: each file whole)."""
        bundle = self.oneroster
        bundle.mkdir(parents=True, exist_ok=True)
        manifest = (
            [("manifest.version", "1.0"), ("oneroster.version", "1.2")]
            + [
                (f"file.{name}", "bulk")
                for name in ("academicSessions", "classes", "enrollments", "orgs", "roles", "users")
            ]
            + [
                (f"file.{name}", "absent")
                for name in ("courses", "demographics", "lineItems", "results", "userProfiles")
            ]
        )
        _write(
            bundle / "manifest.csv",
            ["propertyName", "value"],
            [dict(zip(["propertyName", "value"], m, strict=True)) for m in manifest],
        )
        _write(
            bundle / "orgs.csv",
            [
                "sourcedId",
                "status",
                "dateLastModified",
                "name",
                "type",
                "identifier",
                "parentSourcedId",
            ],
            [
                {
                    "sourcedId": "org-1",
                    "status": "active",
                    "dateLastModified": "",
                    "name": "CFA Test",
                    "type": "school",
                    "identifier": "CFA",
                    "parentSourcedId": "",
                }
            ],
        )
        _write(
            bundle / "academicSessions.csv",
            [
                "sourcedId",
                "status",
                "dateLastModified",
                "title",
                "type",
                "startDate",
                "endDate",
                "parentSourcedId",
                "schoolYear",
            ],
            [
                {
                    "sourcedId": "as-1",
                    "status": "active",
                    "dateLastModified": "",
                    "title": "2026-2027",
                    "type": "schoolYear",
                    "startDate": "2026-09-01",
                    "endDate": "2027-07-31",
                    "parentSourcedId": "",
                    "schoolYear": "2027",
                }
            ],
        )
        _write(bundle / "users.csv", USER_COLUMNS, self.users)
        _write(bundle / "roles.csv", list(self.roles[0]), self.roles)
        class_columns = list(CLASSES_COLUMNS)
        _write(
            bundle / "classes.csv",
            class_columns,
            [
                {
                    **dict.fromkeys(class_columns, ""),
                    "status": "active",
                    "schoolSourcedId": "org-1",
                    "termSourcedIds": "as-1",
                    "classType": "scheduled",
                    **c,
                }
                for c in self.classes
            ],
        )
        _write(bundle / "enrollments.csv", list(self.enrollments[0]), self.enrollments)
        _write(self.sessions_csv, SESSION_COLUMNS, self.sessions)
        if self.extra_session_lines:
            with self.sessions_csv.open("a", encoding="utf-8", newline="") as handle:
                handle.write("".join(line + "\r\n" for line in self.extra_session_lines))


def _write(path: Path, columns: list[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def local(day: date, hhmm: str) -> datetime:
    """Naive local wall-clock datetime, for assertions."""
    hour, minute = (int(p) for p in hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute)
