"""The engine: wires one run of one tenant together (read, shape, route, plan, apply)."""

from .apply import ApplyHooks, NoHooks
from .context import RunContext, utc_now
from .down import sync_down, sync_window
from .up import sync_up

__all__ = ["ApplyHooks", "NoHooks", "RunContext", "sync_down", "sync_up", "sync_window", "utc_now"]
