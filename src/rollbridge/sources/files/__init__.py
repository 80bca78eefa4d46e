"""The "Other" source: a OneRoster CSV bundle, an iCalendar or CSV planning, a CSV back.

Modules: `oneroster` (bundles → people, groups, memberships, tutor links), `calendar`
(planning files → sessions, and the sessions CSV writer), `ical` (the iCalendar reader),
`link` (sessions checked against the roster), `attendance_csv` (atomic write-back),
`csvio` (tolerant CSV reading, atomic replacement), `source` (the `FilesSource` port).
"""

from rollbridge.sources.files.calendar import SESSION_COLUMNS, SessionRow, write_sessions_csv
from rollbridge.sources.files.source import FilesSource

__all__ = ["SESSION_COLUMNS", "FilesSource", "SessionRow", "write_sessions_csv"]
