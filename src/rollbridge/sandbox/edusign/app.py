"""ASGI app emulating Edusign's v1 API on loopback, plus the `/_sandbox` test controls.

Plain ASGI on Starlette's request and response classes, with the segment-tree `Router`:
benchmarks push tens of thousands of requests through it. Transport behaviour lives here
and in `traffic` (bearer auth, scopes, rate limit, injected faults, request log); business
rules live in `school`; the v1 table in `routes`; the test controls in `controls`.

A /v1 request goes: route → latency → 401 → 404 → 403 → rate limit (429 or slow-down) →
fault → handler (→ stall). Every /v1 request is logged with its route template.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import threading
import time
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from rollbridge.sandbox.edusign.clock import Clock
from rollbridge.sandbox.edusign.controls import CONTROLS, ControlError
from rollbridge.sandbox.edusign.router import FAMILIES, Call, Router
from rollbridge.sandbox.edusign.routes import DEFAULT_PAGE_SIZES, v1_routes
from rollbridge.sandbox.edusign.school import School
from rollbridge.sandbox.edusign.traffic import Fault, RateLimiter, RateMode, RequestLog
from rollbridge.sandbox.edusign.wire import Refused

MALFORMED_BODY = "<html><body><h1>502 Bad Gateway</h1></body></html>"


@dataclass(frozen=True, slots=True)
class Account:
    """One API key: its school and, if restricted, the families it may call."""

    school: School
    scopes: frozenset[str] | None


def _text(status: int, headers: Mapping[str, str] | None = None) -> Response:
    """Edusign's plain-text technical answers (§2): `Unauthorized`, `Not Found`…"""
    return PlainTextResponse(HTTPStatus(status).phrase, status_code=status, headers=headers)


def _json(payload: Any, status: int = 200) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(body, status_code=status, media_type="application/json")


def _bearer(header: str) -> str:
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _is_loopback(scope: Scope) -> bool:
    client = scope.get("client")
    if not client:
        return False
    try:
        return ipaddress.ip_address(client[0]).is_loopback
    except ValueError:
        return False


class EdusignApp:
    """The emulator as one ASGI callable: `/v1/...` API and `/_sandbox/...` controls."""

    def __init__(
        self,
        *,
        api_keys: Iterable[str] = (),
        seed: int | None = None,
        per_minute: int = 480,
        rate_mode: RateMode = "delay",
    ) -> None:
        self.clock = Clock()
        self._seed = seed
        self._initial_keys = tuple(api_keys)
        self._initial_rate = (per_minute, rate_mode)
        self.lock = threading.Lock()  # guards accounts, log, faults and rate
        self._router = Router(v1_routes())
        self.accounts: dict[str, Account] = {}
        self.log = RequestLog()
        self.faults: list[Fault] = []
        self.latency_ms = 0.0
        self.rate: RateLimiter = RateLimiter()
        self.sizes: dict[str, int] = dict(DEFAULT_PAGE_SIZES)
        self.reset()

    def reset(self) -> None:
        """Back to just started: only the initial keys, empty again; no log or faults."""
        with self.lock:
            self.accounts = {}
            self.log = RequestLog()
            self.faults = []
            self.latency_ms = 0.0
            self.rate = RateLimiter(*self._initial_rate)
            self.sizes = dict(DEFAULT_PAGE_SIZES)
            self.clock.freeze(None)
        for key in self._initial_keys:
            self.add_school(key)

    def add_school(
        self, api_key: str, scopes: Iterable[str] | None = None, seed: int | None = None
    ) -> School:
        """A fresh, empty school behind `api_key` (replacing any school it had)."""
        allowed = None if scopes is None else frozenset(scopes)
        if allowed is not None and not allowed <= FAMILIES:
            raise ControlError(
                f"unknown scopes {sorted(allowed - FAMILIES)}; use {sorted(FAMILIES)}"
            )
        if seed is None and self._seed is not None:
            seed = zlib.crc32(f"{self._seed}:{api_key}".encode())  # stable per key
        school = School(clock=self.clock, seed=seed)
        with self.lock:
            self.accounts[api_key] = Account(school, allowed)
        return school

    # ----- ASGI -----------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        path: str = scope["path"]
        if path.startswith("/_sandbox/"):
            response = await self._control(request, path)
        else:
            response = await self._api(request, path)
        await response(scope, receive, send)

    async def _api(self, request: Request, path: str) -> Response:
        method = request.method
        found = self._router.match(method, path)
        template = found[0].template if found is not None else path
        if self.latency_ms:
            await asyncio.sleep(self.latency_ms / 1000)
        api_key = _bearer(request.headers.get("authorization", ""))
        account = self.accounts.get(api_key)
        if account is None:
            return self._logged(method, template, path, _text(401))
        if found is None:
            return self._logged(method, template, path, _text(404))
        route, args = found
        scopes = account.scopes
        if scopes is not None and route.family != "school" and route.family not in scopes:
            return self._logged(method, template, path, _text(403))
        with self.lock:
            verdict = self.rate.admit(api_key, time.monotonic())
        if verdict.retry_after is not None:
            headers = {"Retry-After": str(verdict.retry_after)}
            return self._logged(method, template, path, _text(429, headers))
        if verdict.delay:
            await asyncio.sleep(verdict.delay)
        with self.lock:
            fault = self._take_fault(method, path, api_key)
        if fault is not None and fault.kind != "apply_then_stall":
            return await self._fail(fault, method, template, path)
        try:
            raw = await request.body()
            body = json.loads(raw) if raw else None
        except ValueError:
            return self._logged(method, template, path, _text(400))
        call = Call(account.school, args, request.query_params, body, self.sizes)
        try:
            payload = {"status": "success", "result": route.handler(call)}
        except Refused as exc:
            payload = {"status": "error", "message": exc.message}
        response = self._logged(method, template, path, _json(payload))
        if fault is not None:
            await asyncio.sleep(fault.seconds)  # applied, but the reply comes too late
        return response

    def _take_fault(self, method: str, path: str, api_key: str) -> Fault | None:
        for fault in self.faults:
            if fault.matches(method, path, api_key):
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                return fault
        return None

    async def _fail(self, fault: Fault, method: str, template: str, path: str) -> Response:
        """Answer as the fault says, without executing the request."""
        if fault.kind == "timeout":
            self._logged(method, template, path, _text(504))
            await asyncio.sleep(fault.seconds)
            return _text(504)
        if fault.kind == "malformed":
            response = Response(MALFORMED_BODY, status_code=200, media_type="text/html")
            return self._logged(method, template, path, response)
        if fault.kind == "rate_limited":
            # A 429 burst with a short Retry-After, without waiting for a real window to fill.
            headers = {"Retry-After": str(max(0, round(fault.seconds)))}
            return self._logged(method, template, path, _text(429, headers))
        status = {"unauthorized": 401, "billing": 402}.get(fault.kind, fault.status)
        return self._logged(method, template, path, _text(status))

    def _logged(self, method: str, template: str, path: str, response: Response) -> Response:
        with self.lock:
            self.log.record(method, template, path, response.status_code)
        return response

    # ----- controls -------------------------------------------------------------------

    async def _control(self, request: Request, path: str) -> Response:
        if not _is_loopback(request.scope):
            return _text(404)  # the controls do not exist for anyone off this machine
        handler = CONTROLS.get((request.method, path.rstrip("/")))
        if handler is None:
            return _text(404)
        try:
            raw = await request.body()
            body = json.loads(raw) if raw else {}
            return _json(handler(self, body))
        except (ValueError, Refused) as exc:
            message = exc.message if isinstance(exc, Refused) else str(exc)
            return _json({"error": message}, status=400)


async def _lifespan(receive: Receive, send: Send) -> None:
    """Answer the lifespan protocol: nothing to start or stop."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
