"""One recorded run: the per-(tenant, direction) lock, the run row, the outcome."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager

from rollbridge.errors import HeldForApproval, RollbridgeError
from rollbridge.report import RunReport

from .context import RunContext


def holder() -> str:
    """Who holds a run lock: host and process, for the message a second run gets."""
    return f"{socket.gethostname()}:{os.getpid()}"


@contextmanager
def recorded_run(ctx: RunContext, report: RunReport) -> Iterator[None]:
    """Lock, record the start, turn our errors into the report's outcome, record the end.

    A held plan and our own errors end the run with a status; anything else (a crash,
    Ctrl-C) is recorded as failed and propagates.
    """
    tenant, direction = ctx.config.tenant, report.direction
    with ctx.store.run_lock(tenant, direction, holder=holder()):
        report.run_id = ctx.store.start_run(tenant, direction, at=report.started_at)
        try:
            yield
        except HeldForApproval as held:
            report.status = "held"
            report.held_plan_id = held.plan_id
        except RollbridgeError as exc:
            report.status = "failed"
            report.error = str(exc)
        except BaseException:
            report.status = "failed"
            report.error = "interrupted"
            raise
        finally:
            report.finished_at = ctx.clock()
            ctx.store.finish_run(
                report.run_id,
                status="partial" if report.status == "planned" else report.status,
                report=report.to_dict(),
                at=report.finished_at,
            )
