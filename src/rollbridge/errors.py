"""One exception tree for everything rollbridge raises on purpose.

    RollbridgeError
    ├── ConfigError           the customer must change something (file, field, allowed values)
    │   └── AuthError         credentials refused (401/402/403, SOAP fault on login)
    ├── SourceError           the planning system could not be read or written
    ├── TargetError           Edusign answered, not as we need
    │   ├── BusinessError     HTTP 200 with {"status": "error"}
    │   ├── ProtocolError     not the shape we expect (no JSON, no envelope)
    │   └── Transient         worth retrying: timeouts, 5xx
    │       └── RateLimited   429, with the wait asked for
    ├── StoreError            the local database refused
    └── HeldForApproval       a deletion-heavy plan waits for a person

Messages say what, where (tenant, account, key) and what to do; never a secret.
"""

from __future__ import annotations


class RollbridgeError(Exception):
    """Root of every error rollbridge raises on purpose."""

    def __init__(self, message: str, **where: str) -> None:
        super().__init__(message)
        self.message = message
        self.where = where  # tenant, account, key; never secrets or payloads

    def __str__(self) -> str:
        if not self.where:
            return self.message
        context = ", ".join(f"{key}={value}" for key, value in sorted(self.where.items()))
        return f"{self.message} ({context})"


class ConfigError(RollbridgeError):
    """The customer must change something in the configuration."""


class AuthError(ConfigError):
    """Credentials were refused."""


class SourceError(RollbridgeError):
    """The planning system could not be read or written."""


class TargetError(RollbridgeError):
    """Edusign answered, but not as we need."""


class BusinessError(TargetError):
    """Edusign said no with HTTP 200 and `{"status": "error"}`."""

    def __init__(self, message: str, *, details: tuple[str, ...] = (), **where: str) -> None:
        super().__init__(message, **where)
        self.details = details


class ProtocolError(TargetError):
    """Edusign's reply was not the shape we expect."""


class Transient(TargetError):
    """Worth retrying: timeouts, 5xx, dropped connections."""


class RateLimited(Transient):
    """Edusign asked us to slow down (HTTP 429)."""

    def __init__(self, message: str, *, after_s: float | None, **where: str) -> None:
        super().__init__(message, **where)
        self.after_s = after_s


class StoreError(RollbridgeError):
    """The local database refused an operation."""


class HeldForApproval(RollbridgeError):
    """A run would delete more than the guard allows; its plan waits for a person."""

    def __init__(self, message: str, *, plan_id: str, **where: str) -> None:
        super().__init__(message, **where)
        self.plan_id = plan_id
