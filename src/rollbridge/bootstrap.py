"""The one place that builds clients, sources and stores from configuration."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from pydantic import SecretStr

from rollbridge.config import STORE_SECRET_PREFIX, Account, TenantConfig, load_config
from rollbridge.config import HyperplanningSource as HyperplanningSettings
from rollbridge.engine import ApplyHooks, NoHooks, RunContext
from rollbridge.engine.context import utc_now
from rollbridge.errors import ConfigError
from rollbridge.sources.base import Progress, Source, no_progress
from rollbridge.sources.files import FilesSource
from rollbridge.store import Store
from rollbridge.store.crypto import key_from_env, load_or_create_key
from rollbridge.targets.edusign import EdusignClient
from rollbridge.timeconv import zone

DEFAULT_CONFIG = "rollbridge.toml"


@dataclass(frozen=True, slots=True)
class Paths:
    """Where a tenant's local state lives (beside its config by default)."""

    config: Path
    state_dir: Path
    database_url: str
    key_file: Path


def paths_for(config_path: Path) -> Paths:
    """Default locations: `.rollbridge/` next to the config, overridable by environment."""
    state_dir = Path(
        os.environ.get("ROLLBRIDGE_STATE_DIR") or config_path.resolve().parent / ".rollbridge"
    )
    url = os.environ.get("ROLLBRIDGE_DATABASE_URL") or f"sqlite:///{state_dir / 'rollbridge.db'}"
    return Paths(config_path, state_dir, url, state_dir / "secret.key")


def secret_key(paths: Paths, *, create: bool = True) -> bytes:
    """The Fernet key: `ROLLBRIDGE_SECRET_KEY`, else the key file (created on first use)."""
    from_env = os.environ.get("ROLLBRIDGE_SECRET_KEY")
    if from_env:
        return key_from_env(from_env)
    if not create and not paths.key_file.exists():
        raise ConfigError(
            f"no secret key: set ROLLBRIDGE_SECRET_KEY or run `rollbridge init` ({paths.key_file})"
        )
    return load_or_create_key(paths.key_file)


def open_store(paths: Paths) -> Store:
    """Open (and migrate) the tenant's store."""
    if paths.database_url.startswith("sqlite"):
        paths.state_dir.mkdir(parents=True, exist_ok=True)
    return Store.open(paths.database_url, secret_key=secret_key(paths))


def resolve_stored_secrets(config: TenantConfig, store: Store) -> TenantConfig:
    """Replace `{ store = "name" }` API keys by the decrypted secrets."""
    config = _resolve_source_password(config, store)
    names = config.stored_secret_names()
    if not names:
        return config
    keys: dict[str, SecretStr] = {}
    for account, name in names.items():
        secret = store.get_secret(config.tenant, name)
        if secret is None:
            raise ConfigError(
                f"account {account}: no secret {name!r} in the store; "
                f"run `rollbridge secret set {name}`",
                tenant=config.tenant,
            )
        keys[account] = secret
    return config.with_api_keys(keys)


def _resolve_source_password(config: TenantConfig, store: Store) -> TenantConfig:
    """A Hyperplanning password given as `{ store = "name" }`, read from the store."""
    source = config.source
    if not isinstance(source, HyperplanningSettings):
        return config
    value = source.password.get_secret_value()
    if not value.startswith(STORE_SECRET_PREFIX):
        return config
    name = value.removeprefix(STORE_SECRET_PREFIX)
    secret = store.get_secret(config.tenant, name)
    if secret is None:
        raise ConfigError(
            f"source: no secret {name!r} in the store; run `rollbridge secret set {name}`",
            tenant=config.tenant,
        )
    return config.model_copy(update={"source": source.model_copy(update={"password": secret})})


def build_source(config: TenantConfig, *, full_read: bool = False) -> Source:
    """The configured planning-system connector; `full_read`: Hyperplanning reads every
    per-entity answer again instead of serving its cache (the files source reads all
    anyway)."""
    source = config.source
    if not isinstance(source, HyperplanningSettings):
        return FilesSource(source, zone(config.timezone))
    from rollbridge.sources.hyperplanning.source import HyperplanningSource

    if source.password.get_secret_value().startswith(STORE_SECRET_PREFIX):
        raise ConfigError(
            "the Hyperplanning password is in the store but was not read from it",
            tenant=config.tenant,
        )
    return HyperplanningSource(
        source,
        zone(config.timezone),
        school_year=config.school_year,
        tutors=config.options.tutors,
        full_read=full_read,
    )


def client_factory(
    config: TenantConfig, transport: httpx.BaseTransport | None = None
) -> Callable[[Account], EdusignClient]:
    """Build one Edusign client per account on demand."""

    def build(account: Account) -> EdusignClient:
        if account.api_key.get_secret_value().startswith(STORE_SECRET_PREFIX):
            raise ConfigError(
                f"account {account.name}: its key is in the store but was not read from it",
                tenant=config.tenant,
            )
        return EdusignClient(
            account,
            transport=transport,
            api_type=config.effective_api_type,
        )

    return build


def build_context(
    config: TenantConfig,
    store: Store,
    *,
    source: Source | None = None,
    hooks: ApplyHooks | None = None,
    progress: Progress = no_progress,
    full_read: bool = False,
) -> RunContext:
    """Compose a run from a validated config and an open store; `full_read` makes the
    source read everything again (see `build_source`) and the engine build every session
    batch (`engine/batches.py`)."""
    config = resolve_stored_secrets(config, store)
    return RunContext(
        config=config,
        source=source or build_source(config, full_read=full_read),
        store=store,
        client_for=client_factory(config),
        clock=utc_now,
        hooks=hooks or NoHooks(),
        progress=progress,
        rebuild_all=full_read,
    )


def load(config_path: Path) -> tuple[TenantConfig, Paths]:
    """Validate the config file and work out the state paths."""
    return load_config(config_path), paths_for(config_path)
