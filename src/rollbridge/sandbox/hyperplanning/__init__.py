"""The HYPERPLANNING Service web (HPSW) emulator: SOAP 1.1, document/literal, over loopback.

Spec: shared/apis/hyperplanning.md (§11 lists what must be reproduced). Layout, from the
wire down:

- `server`: `HyperplanningSandbox`, the handle tests use (thread or process) and `main`;
- `runner`: loopback socket, uvicorn in a thread or a child process;
- `app`: `HyperplanningApp`, the ASGI callable (Basic auth, WSDL, SOAP dispatch, log);
- `controls`, `probes`: the `/_sandbox` test controls, planted traps and key lookups;
- `edits`, `faults`: planning edits (move a séance, remove a course, rename a learner, shift
  the year) and injected failures, behind those controls;
- `wsdl`, `wire`, `catalog`, `schema`: WSDL documents, envelopes and value coding, the
  operation table and the XSD types;
- `ops_cours`, `ops_people`, `ops_catalogue`, `ops_absences`: what each operation does;
- `base`, `layout`, `courses`, `attendance`: one base's keys and weeks, the school reshaped
  as Hyperplanning holds it, and the marks written back.

Vocabulary (French, as the API speaks it): cours = recurring course, séance = one placed
occurrence, promotion = class/diploma, TD/option = sub-group, salle = room, matière =
subject, famille/rubrique = custom classification/section, absence/retard = absence/lateness
span, dispense = exemption, maître d'apprentissage = apprenticeship tutor.

The handle lives in `rollbridge.sandbox.hyperplanning.server` (not re-exported here, so that
`python -m rollbridge.sandbox.hyperplanning.server` does not import itself twice).
"""

from rollbridge.sandbox.hyperplanning.app import HyperplanningApp
from rollbridge.sandbox.runner import SandboxError

__all__ = ["HyperplanningApp", "SandboxError"]
