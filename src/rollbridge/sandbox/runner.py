"""Serving an emulator's ASGI app on a loopback socket, from a thread or a child process.

Bind first (port 0 picks a free port), then hand the socket to uvicorn. A thread shares
the caller's process (fast to start: tests); a child process gets its own core and GIL
(benchmarks) and prints a ready line with its URL, which the parent waits for.
"""

from __future__ import annotations

import os
import selectors
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Protocol, Self

import httpx
import uvicorn
from starlette.types import ASGIApp

_SRC_DIR = Path(__file__).resolve().parents[2]  # src/, so the child imports this very code


class SandboxError(RuntimeError):
    """The sandbox did not start, or a control call was refused."""


class Runner(Protocol):
    """Something serving an app until stopped."""

    def stop(self) -> None: ...


def bind(host: str, port: int) -> socket.socket:
    """A bound socket; port 0 lets the kernel pick a free one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on sockets that say TCP, and
    # without it Nagle and delayed ACKs cap a keep-alive client at ~25 requests/s.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def url_of(sock: socket.socket) -> str:
    """`http://host:port` of a bound socket."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def server(app: ASGIApp, *, lifespan: Literal["auto", "on", "off"] = "auto") -> uvicorn.Server:
    """A quiet uvicorn server for `app`."""
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan=lifespan,
        timeout_graceful_shutdown=1,  # stalled or slowed requests must not hold up a stop
    )
    return uvicorn.Server(config)


class ThreadRunner:
    """uvicorn on its own event loop in a daemon thread of this process."""

    def __init__(
        self,
        app: ASGIApp,
        sock: socket.socket,
        startup_timeout: float,
        *,
        name: str,
        lifespan: Literal["auto", "on", "off"] = "auto",
    ) -> None:
        self._sock = sock
        self._server = server(app, lifespan=lifespan)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=name, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + startup_timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise SandboxError(f"the {name} thread did not start; see stderr")
            time.sleep(0.005)

    def stop(self) -> None:
        """Stop serving now, without waiting for keep-alive or stalled requests."""
        self._server.should_exit = True
        self._server.force_exit = True
        self._thread.join(timeout=10)
        self._sock.close()


class ProcessRunner:
    """`python -m <module> <argv>` as a child process that prints `<ready_prefix><url>`."""

    def __init__(
        self, module: str, argv: list[str], startup_timeout: float, *, ready_prefix: str
    ) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [
            str(_SRC_DIR), os.environ.get("PYTHONPATH", "")
        ]))}  # fmt: skip
        self._module = module
        self._ready_prefix = ready_prefix
        self._proc = subprocess.Popen(
            [sys.executable, "-m", module, *argv],
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=env,
            text=True,
        )
        self.url = self._await_ready(startup_timeout)

    def _await_ready(self, timeout: float) -> str:
        stdout = self._proc.stdout
        assert stdout is not None  # Popen(stdout=PIPE) always sets it
        with selectors.DefaultSelector() as selector:
            selector.register(stdout, selectors.EVENT_READ)
            if selector.select(timeout):
                line = stdout.readline()
                if line.startswith(self._ready_prefix):
                    return line[len(self._ready_prefix) :].strip()
        self.stop()
        raise SandboxError(
            f"{self._module} did not start (exit code {self._proc.returncode}); see its stderr"
        )

    def stop(self) -> None:
        """Terminate the child (kill it if it lingers)."""
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()


class SandboxHandle:
    """A running emulator: its URL, its runner, and `/_sandbox/...` control calls."""

    def __init__(self, url: str, runner: Runner, *, timeout_s: float = 30.0) -> None:
        self.url = url
        self._runner = runner
        self._http = httpx.Client(base_url=url, timeout=timeout_s)

    def stop(self) -> None:
        """Stop the server; the sandbox cannot be used afterwards."""
        self._http.close()
        self._runner.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _control(self, method: str, action: str, body: Mapping[str, Any] | None = None) -> Any:
        response = self._http.request(method, f"/_sandbox/{action}", json=body)
        if response.status_code != 200:
            raise SandboxError(
                f"sandbox control {method} {action} failed (HTTP {response.status_code}): "
                f"{response.text}"
            )
        return response.json()

    # ----- the call log, the same controls on every emulator ----------------------------

    def log(self) -> list[dict[str, Any]]:
        """Every request the emulator served so far, oldest first (shape: its `log`)."""
        entries: list[dict[str, Any]] = self._control("GET", "log")["entries"]
        return entries

    def counts(self) -> dict[str, int]:
        """Requests so far per operation (Hyperplanning) or per method and route (Edusign)."""
        counts: dict[str, int] = self._control("GET", "counts")["counts"]
        return counts

    def clear_log(self) -> None:
        """Forget the requests logged so far."""
        self._control("DELETE", "log")
