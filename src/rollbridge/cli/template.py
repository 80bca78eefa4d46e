"""The commented configuration `rollbridge init` writes."""

from __future__ import annotations

from datetime import date


def _school_year(today: date) -> tuple[date, date]:
    start_year = today.year if today.month >= 8 else today.year - 1
    return date(start_year, 9, 1), date(start_year + 1, 7, 31)


def config_template(tenant: str, *, today: date | None = None) -> str:
    """A complete, commented tenant configuration for the "files" source."""
    start, end = _school_year(today or date.today())
    return f'''# rollbridge tenant configuration — one file per school (tenant).
# Check it with: rollbridge check -c <this file>

# Lowercase name of the tenant: letters, digits, - and _.
tenant = "{tenant}"
# IANA time zone of the school; every local time in the source is read in it.
timezone = "Europe/Paris"

[school_year]
# Sessions outside these dates are out of scope. Change them at the yearly rollover.
start = {start.isoformat()}
end = {end.isoformat()}

[source]
# "files": OneRoster 1.2 CSV bundle + iCalendar (.ics) or CSV sessions ("Other").
kind = "files"
oneroster = "data/oneroster"        # folder or .zip with manifest.csv, users.csv, classes.csv, ...
deltas = []                         # optional delta bundles applied on top, in order
sessions = "data/sessions.csv"      # .csv or .ics with the dated sessions
attendance_out = "data/attendance.csv"  # where attendance is written back (atomically)
tutor_roles = ["relative"]          # OneRoster roles read as apprenticeship tutors

[options]
tutors = false                      # sync apprenticeship tutors (maîtres d'apprentissage)
tag_attributes = []                 # attributes turned into learner tags, e.g. ["org_name"]
sync_exemptions = false             # false: exempted learners are left out of those sessions
room_label = "name"                 # "name" or "code" of the room
fixed_room_name = ""                # one room name for every session (NFC badge readers)
fallback_instructor_email = ""      # instructor for sessions without one (else they are skipped)
send_credentials = false            # let Edusign e-mail credentials to people we create

[guard]
# A run removing more than this (per account and kind) waits for `rollbridge approve`.
max_delete_ratio = 0.10
max_delete_count = 50

[sync]
days_back = 7                       # down: also look at sessions of the last N days
up_days_back = 30                   # up: re-read attendance of sessions ended in the last N days
up_grace_minutes = 15               # up: a sheet is final N minutes after the session ends

[[accounts]]
name = "main"
# The Edusign API key: inline, {{ env = "EDUSIGN_API_KEY" }} or {{ file = "edusign.key" }}.
api_key = {{ env = "EDUSIGN_API_KEY" }}
base_url = "https://ext.edusign.fr"
rate_per_minute = 480               # Edusign's documented limit
max_concurrency = 8
# Routing: without rules, everything goes to this one account. With several accounts, e.g.
# learners.attrs = {{ "org" = ["site-paris"] }} and sessions.attrs = {{ "subject" = ["Anglais"] }}
'''
