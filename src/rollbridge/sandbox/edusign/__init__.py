"""The Edusign emulator: v1 API and `/_sandbox` test controls over one ASGI app.

Layout, from the wire down:

- `app`: `EdusignApp`, the ASGI callable (auth, scopes, faults, latency, dispatch);
- `router`, `routes`: the segment-tree router and the v1 route table;
- `traffic`: rate limit, injected faults, request log; `controls`: the `/_sandbox` calls;
- `school`: `School`, one API key's data behind one lock, a facade over the rules in
  `people`, `groups`, `courses`, `attendance` and `absences`;
- `data`, `table`, `fields`, `wire`, `ids`, `clock`: storage, validation and conventions.

`rollbridge.sandbox.edusign_server` runs it on loopback for tests, the demo and benchmarks.
"""

from rollbridge.sandbox.edusign.app import EdusignApp
from rollbridge.sandbox.edusign.school import School
from rollbridge.sandbox.edusign.traffic import FaultKind, RateMode
from rollbridge.sandbox.edusign.wire import Refused

__all__ = ["EdusignApp", "FaultKind", "RateMode", "Refused", "School"]
