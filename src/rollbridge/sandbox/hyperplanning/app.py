"""`HyperplanningApp`: the HPSW emulator as one ASGI callable.

Routes (prefix `/hpsw` by default; real servers may add a year segment, §2):

- `GET /` and `GET <prefix>`: the service page a customer opens to check the service (no auth);
- `GET <prefix>/wsdl`, `GET <prefix>/wsdl/<Interface>` (also under `SansTypeSimple/`): WSDL;
- `POST <prefix>/soap/<Interface>`: SOAP 1.1 calls, dispatched on the body's element;
- `/_sandbox/...`: test controls (`controls.py`), loopback clients only.

WSDL and calls require HTTP Basic (401 otherwise, §3); the username is compared byte for
byte, backslash included. A call goes: auth → latency → decode → injected failure (`faults`)
→ port check → learner module → handler → answer, or a SOAP Fault with HTTP 500 (§9).
Every call is logged.

Test controls may edit the planning (`edits`): the current base is then rebuilt over the
edited layout with the same keys and marks, until `reset` brings the original back.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import ipaddress
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection
from datetime import date, timedelta
from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from rollbridge.sandbox.hyperplanning.attendance import Attendance
from rollbridge.sandbox.hyperplanning.base import Base, monday
from rollbridge.sandbox.hyperplanning.catalog import (
    INTERFACES,
    OPERATIONS,
    is_write,
    needs_learner_module,
)
from rollbridge.sandbox.hyperplanning.context import Ctx, Handler
from rollbridge.sandbox.hyperplanning.controls import CONTROLS, ControlError
from rollbridge.sandbox.hyperplanning.edits import shift_weeks as shifted
from rollbridge.sandbox.hyperplanning.faults import Faults
from rollbridge.sandbox.hyperplanning.layout import Layout, build_layout
from rollbridge.sandbox.hyperplanning.ops_absences import HANDLERS as ABSENCES
from rollbridge.sandbox.hyperplanning.ops_catalogue import HANDLERS as CATALOGUE
from rollbridge.sandbox.hyperplanning.ops_cours import HANDLERS as COURS
from rollbridge.sandbox.hyperplanning.ops_people import HANDLERS as PEOPLE
from rollbridge.sandbox.hyperplanning.wire import SoapFault, answer, fault, read_call
from rollbridge.sandbox.hyperplanning.wsdl import build_wsdl
from rollbridge.sandbox.school import SyntheticSchool

XML = "text/xml; charset=utf-8"
REALM = 'Basic realm="HYPERPLANNING Service web"'
HANDLERS: dict[str, Handler] = {**COURS, **PEOPLE, **CATALOGUE, **ABSENCES}
if HANDLERS.keys() != OPERATIONS.keys():  # the table and the behaviour must name the same calls
    raise RuntimeError(f"HPSW handlers out of step: {sorted(HANDLERS.keys() ^ OPERATIONS.keys())}")


class HyperplanningApp:
    """One HPSW instance serving one base (§1), plus its switches and call log."""

    def __init__(
        self,
        school: SyntheticSchool,
        *,
        username: str,
        password: str,
        first_day: date | None = None,
        soap_address: str | None = None,
        prefix: str = "/hpsw",
        warm: bool = False,
    ) -> None:
        self.layout: Layout = build_layout(school)
        self._original = self.layout  # what reset brings back after planning edits
        self.faults = Faults()
        self.warm = warm  # build every séance answer when a base opens (large schools)
        self._bases: dict[tuple[int, date], Base] = {}
        self.username = username
        self.password = password
        self.prefix = "/" + prefix.strip("/")
        self._initial = (first_day or monday(school.year_start), soap_address)
        self.lock = threading.Lock()  # guards the base, marks, switches and log
        self._wsdl: dict[tuple[str, str, frozenset[str]], bytes] = {}
        self.reset()

    def reset(self) -> None:
        """Back to just started: the unedited planning, base 1, no marks, no log, no injected
        failure, every switch as configured."""
        first_day, soap_address = self._initial
        with self.lock:
            self.layout = self._original
            self.faults.clear()
            self.ctx = Ctx(self._open(1, first_day), Attendance(1))
            self.soap_address = soap_address
            self.learner_module = True
            self.read_only = False
            self.hidden: frozenset[str] = frozenset()
            self.latency_ms = 0.0
            self.log: list[dict[str, Any]] = []
            self.counts: Counter[str] = Counter()

    def new_base(self, first_day: date | None = None, shift_weeks: int = 0) -> Base:
        """Switch to a new base (§8): same people and timetable (edits included), new keys
        everywhere, no marks. `shift_weeks` moves the timetable and the school year that many
        weeks (52: next year's base). The first day defaults to a week before the current
        one, shifted likewise."""
        with self.lock:
            old = self.ctx.base
            number = old.number + 1
            day = first_day or old.first_day + timedelta(weeks=shift_weeks - 1)
            self.layout = shifted(self.layout, shift_weeks)
            self.ctx = Ctx(self._open(number, day), Attendance(number))
            return self.ctx.base

    def apply(self, edit: Callable[[Base], tuple[Layout, Collection[int]]]) -> None:
        """Edit the planning of the current base: `edit` gets the base and returns the new
        layout and the courses whose séances changed. Keys and marks are kept; only those
        courses' séance answers are built again."""
        with self.lock:
            layout, changed = edit(self.ctx.base)
            self.ctx = Ctx(self.ctx.base.edited(layout, changed), self.ctx.marks)
            self.layout = layout

    def _open(self, number: int, first_day: date) -> Base:
        """A base, reused when reopened: it is immutable but for its séance answer cache.
        Only bases over the unedited planning are cached (an edited one is never reopened)."""
        pristine = self.layout is self._original
        cached = self._bases.get((number, first_day)) if pristine else None
        if cached is not None:
            return cached
        base = Base(self.layout, number, first_day)
        if pristine:
            # Keep base 1 (reset returns to it) and the new one; drop older séance caches.
            self._bases = {k: v for k, v in self._bases.items() if k[0] == 1}
            self._bases[(number, first_day)] = base
        if self.warm:
            base.warm()
        return base

    # ----- ASGI -------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point (HTTP only; run uvicorn with lifespan off)."""
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        response = await self._route(request, scope["path"])
        await response(scope, receive, send)

    async def _route(self, request: Request, path: str) -> Response:
        method = request.method
        if path.startswith("/_sandbox/"):
            return await self._control(request, path)
        if method == "GET" and path.rstrip("/") in ("", self.prefix):
            return self._page()
        wsdl = f"{self.prefix}/wsdl"
        soap = f"{self.prefix}/soap/"
        if method == "GET" and (path == wsdl or path.startswith(wsdl + "/")):
            return self._guarded(request, "wsdl", path) or self._wsdl_response(request, path)
        if method == "POST" and path.startswith(soap):
            refused = self._guarded(request, "soap", path)
            if refused is not None:
                return refused
            return await self._soap(request, path.removeprefix(soap))
        return PlainTextResponse("Not Found", status_code=404)

    def _guarded(self, request: Request, kind: str, path: str) -> Response | None:
        """None if the Basic credentials match; else a logged 401."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        user, password = "", ""
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(token.strip(), validate=True)
            except (binascii.Error, ValueError):
                decoded = b""
            text = decoded.decode("utf-8", errors="replace")
            user, _, password = text.partition(":")  # the first colon ends the username
        if hmac.compare_digest(user.encode(), self.username.encode()) and hmac.compare_digest(
            password.encode(), self.password.encode()
        ):
            return None
        self._record(kind, path, "", 401, None, 0.0)
        return PlainTextResponse(
            "Unauthorized", status_code=401, headers={"WWW-Authenticate": REALM}
        )

    def _address(self, request: Request) -> str:
        """Where the WSDL says the ports live: the configured (maybe wrong) host, else ours."""
        host = self.soap_address or f"{request.url.scheme}://{request.headers.get('host', '')}"
        return host.rstrip("/") + self.prefix

    def _wsdl_response(self, request: Request, path: str) -> Response:
        rest = path.removeprefix(f"{self.prefix}/wsdl").strip("/").removeprefix("SansTypeSimple/")
        if rest and rest not in INTERFACES:
            return PlainTextResponse("Not Found", status_code=404)
        address = self._address(request)
        hidden = self.hidden
        cache_key = (address, rest, hidden)
        data = self._wsdl.get(cache_key)
        if data is None:
            interfaces = [rest] if rest else INTERFACES
            data = self._wsdl[cache_key] = build_wsdl(address, interfaces, hidden)
        self._record("wsdl", path, rest, 200, None, 0.0)
        return Response(data, media_type=XML)

    async def _soap(self, request: Request, interface: str) -> Response:
        if self.latency_ms:
            await asyncio.sleep(self.latency_ms / 1000)
        started = time.perf_counter()
        raw = await request.body()
        name = ""
        try:
            op, args = read_call(raw)
            name = op.name
            with self.lock:
                injected = self.faults.take(name)
            if injected is not None and injected.fault is not None:
                raise SoapFault(injected.fault)
            if injected is not None and injected.status is not None:
                elapsed = (time.perf_counter() - started) * 1000
                self._record("soap", interface, name, injected.status, None, elapsed)
                return PlainTextResponse(injected.text, status_code=injected.status)
            if op.interface != interface or op.name in self.hidden:
                raise SoapFault(f"{op.name} n'est pas une opération de {interface}", client=True)
            with self.lock:
                if not self.learner_module and needs_learner_module(op):
                    raise SoapFault("Le module de gestion des étudiants n'est pas activé")
                if self.read_only and is_write(op):
                    raise SoapFault(f"{op.name} : l'utilisateur n'a pas le droit de modifier")
                value = HANDLERS[op.name](self.ctx, args)
            body, status, message = answer(op, value), 200, None
        except SoapFault as exc:
            body, status, message = fault(exc.message, client=exc.client), 500, exc.message
        elapsed = (time.perf_counter() - started) * 1000
        self._record("soap", interface, name, status, message, elapsed)
        return Response(body, status_code=status, media_type=XML)

    def _record(
        self, kind: str, where: str, op: str, status: int, message: str | None, ms: float
    ) -> None:
        with self.lock:
            self.log.append(
                {
                    "kind": kind,
                    "where": where,
                    "operation": op,
                    "status": status,
                    "fault": message,
                    "ms": round(ms, 3),
                }
            )
            if kind == "soap" and op:
                self.counts[op] += 1

    def _page(self) -> Response:
        """The service page (the customer's self-check, §2)."""
        base = self.ctx.base
        school = escape(self.layout.school.name)
        html = (
            "<!DOCTYPE html><html><head><meta charset='utf-8'><title>HYPERPLANNING Service web"
            f"</title></head><body><h1>HYPERPLANNING Service web</h1><p>{school}, base "
            f"{base.number} (premier jour {base.first_day.isoformat()})</p>"
            f"<p><a href='{self.prefix}/wsdl'>WSDL</a></p></body></html>"
        )
        return Response(html, media_type="text/html; charset=utf-8")

    # ----- controls ---------------------------------------------------------------------

    async def _control(self, request: Request, path: str) -> Response:
        client = request.client
        try:
            loopback = client is not None and ipaddress.ip_address(client.host).is_loopback
        except ValueError:
            loopback = False
        handler = CONTROLS.get((request.method, path.removeprefix("/_sandbox/").rstrip("/")))
        if not loopback or handler is None:
            return PlainTextResponse("Not Found", status_code=404)
        try:
            raw = await request.body()
            body = json.loads(raw) if raw else {}
            result = handler(self, body)
        except (ValueError, ControlError, SoapFault) as exc:
            message = exc.message if isinstance(exc, SoapFault) else str(exc)
            error = json.dumps({"error": message}, ensure_ascii=False)
            return Response(error, 400, media_type="application/json")
        payload = json.dumps(result, ensure_ascii=False, separators=(",", ":"))
        return Response(payload, media_type="application/json")
