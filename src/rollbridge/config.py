"""Tenant configuration: one TOML file per tenant, validated by pydantic.

Every validation error becomes a `ConfigError` naming the file, the field (as a dotted
TOML path) and what is allowed. Secrets may be written inline, taken from an environment
variable (`{ env = "NAME" }`) or from a file (`{ file = "path" }`); they are held as
`SecretStr` and never printed.
"""

from __future__ import annotations

import os
import tomllib
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AnyUrl,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    UrlConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from rollbridge.errors import ConfigError
from rollbridge.model import Attrs

HttpUrl = Annotated[AnyUrl, UrlConstraints(allowed_schemes=["https", "http"])]

_SECRET_HINT = 'a string, { env = "VAR" }, { file = "path" } or { store = "name" }'  # noqa: S105
# `{ store = "name" }` is resolved once the store is open (`bootstrap`); until then the
# secret holds this marker, which never reaches Edusign (an unresolved marker is an error).
STORE_SECRET_PREFIX = "\x00rollbridge-store:"  # noqa: S105


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _resolve_secret(value: Any, base_dir: Path | None) -> Any:
    """Turn `{env=...}` / `{file=...}` into the secret text; leave strings alone."""
    if not isinstance(value, dict):
        return value
    if set(value) == {"env"}:
        name = str(value["env"])
        found = os.environ.get(name)
        if found is None:
            raise ValueError(f"environment variable {name} is not set")
        return found
    if set(value) == {"store"}:
        name = str(value["store"]).strip()
        if not name:
            raise ValueError("store secret name is empty")
        return STORE_SECRET_PREFIX + name
    if set(value) == {"file"}:
        path = Path(str(value["file"]))
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ValueError(f"cannot read secret file {path}: {exc.strerror}") from exc
    raise ValueError(f"expected {_SECRET_HINT}")


class Rule(_Strict):
    """Which records an account takes, expressed over routing attributes.

    `attrs = {"site" = ["36", "37"]}` takes records whose `site` is 36 or 37. With several
    names, `match = "any"` takes a record matching one of them, `"all"` only one matching
    each; `"none"` takes the records matching none of them (an exclusion: "every course but
    self-study"). No attrs at all means everything.
    """

    match: Literal["any", "all", "none"] = "any"
    attrs: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    @property
    def is_everything(self) -> bool:
        return not self.attrs

    def matches(self, attrs: Attrs) -> bool:
        """Whether a record with these attributes is taken by this rule."""
        if not self.attrs:
            return True
        hits = (
            any((name, value) in attrs for value in values) for name, values in self.attrs.items()
        )
        if self.match == "none":
            return not any(hits)
        return all(hits) if self.match == "all" else any(hits)


class Account(_Strict):
    """One Edusign account (one school, one API key) and what it receives."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")]
    api_key: SecretStr
    base_url: HttpUrl = Field(default=AnyUrl("https://ext.edusign.fr"))
    rate_per_minute: Annotated[int, Field(ge=1, le=10_000_000)] = 480
    max_concurrency: Annotated[int, Field(ge=1, le=64)] = 8
    timeout_s: Annotated[float, Field(gt=0, le=300)] = 30.0
    allow_insecure_http: bool = False
    learners: Rule = Field(default_factory=Rule)
    sessions: Rule = Field(default_factory=Rule)

    @field_validator("api_key", mode="before")
    @classmethod
    def _secret(cls, value: Any) -> Any:
        return _resolve_secret(value, _BASE_DIR.get())

    @model_validator(mode="after")
    def _https_only(self) -> Account:
        if self.base_url.scheme != "https" and not self.allow_insecure_http:
            raise ValueError(
                "base_url must use https (set allow_insecure_http = true only for a local sandbox)"
            )
        return self


class Options(_Strict):
    """The setup questionnaire's options, per tenant."""

    tutors: bool = False
    tag_attributes: tuple[str, ...] = ()
    sync_exemptions: bool = False
    room_label: Literal["name", "code"] = "name"
    fixed_room_name: str = ""
    fallback_instructor_email: str = ""
    send_credentials: bool = False


class Guard(_Strict):
    """The deletion circuit breaker."""

    max_delete_ratio: Annotated[float, Field(ge=0, le=1)] = 0.10
    max_delete_count: Annotated[int, Field(ge=0)] = 50


class SchoolYear(_Strict):
    """School-year bounds: sessions outside them are out of scope."""

    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> SchoolYear:
        if self.end <= self.start:
            raise ValueError("school_year.end must come after school_year.start")
        return self


class Sync(_Strict):
    """Run windows."""

    days_back: Annotated[int, Field(ge=0, le=366)] = 7
    up_days_back: Annotated[int, Field(ge=1, le=366)] = 30
    up_grace_minutes: Annotated[int, Field(ge=0, le=1440)] = 15


class FilesSource(_Strict):
    """The questionnaire's "Other": OneRoster 1.2 CSV bundle + iCalendar/CSV sessions."""

    kind: Literal["files"] = "files"
    oneroster: Path
    deltas: tuple[Path, ...] = ()
    sessions: Path
    attendance_out: Path
    tutor_roles: tuple[str, ...] = ("relative",)

    @model_validator(mode="after")
    def _anchor(self) -> FilesSource:
        base = _BASE_DIR.get()
        if base is None:
            return self

        def anchored(path: Path) -> Path:
            return path if path.is_absolute() else base / path

        return self.model_copy(
            update={
                "oneroster": anchored(self.oneroster),
                "deltas": tuple(anchored(p) for p in self.deltas),
                "sessions": anchored(self.sessions),
                "attendance_out": anchored(self.attendance_out),
            }
        )


class HyperplanningSource(_Strict):
    """Hyperplanning through HYPERPLANNING Service web (HPSW, SOAP).

    `url` is the customer's base (the WSDL is `<url>/hpsw/wsdl`, or `<url>/wsdl` when the
    URL already ends in `/hpsw…`); `username` is passed byte for byte (`ORG\\login`).
    `student_families` / `course_families` name the families (genre gfEtudiant / gfCours)
    whose sections become `family:<label>` / `course_family:<label>` attributes (empty: all
    of the genre); `tags_from_families` adds `family:<label>` to `options.tag_attributes`.
    `state_dir` holds `hyperplanning-state.json`: the base seen per school year and the
    absence spans rollbridge wrote (it never removes a span it did not write).
    `refresh_hours` bounds how stale the per-entity cache (`hyperplanning-cache.json` in
    `state_dir`, always safe to delete) may be: a course's promotions, TD/options, individual
    learners, course-family sections and memo, a learner's student-family sections,
    exemptions and apprenticeship masters, a room's long label are read again after
    `refresh_hours` (each entry between 75 % and 100 % of it, so a base does not expire at
    once), at once when the course's séances changed or the families/memo options did, and on
    `rollbridge sync down --full`; `0` turns the cache off (every run reads everything).
    Everything else is read every run, never stale: the courses listed, séances, people's
    names, e-mails and badges, subjects, room names and codes, families and their sections,
    TD parents and group memberships (a course's learners are the current members of its
    groups plus its cached individual learners).
    """

    kind: Literal["hyperplanning"] = "hyperplanning"
    url: HttpUrl
    allow_insecure_http: bool = False
    username: Annotated[str, Field(min_length=1)]
    password: SecretStr
    student_families: tuple[str, ...] = ()
    course_families: tuple[str, ...] = ()
    tags_from_families: tuple[str, ...] = ()
    late_fallback: Literal["skip", "absence_span"] = "skip"
    left_early_fallback: Literal["skip", "absence_span"] = "skip"
    state_dir: Path = Path(".rollbridge")
    timeout_s: Annotated[float, Field(gt=0, le=600)] = 60.0
    chunk: Annotated[int, Field(ge=1, le=5000)] = 200
    refresh_hours: Annotated[float, Field(ge=0, le=24 * 366)] = 24.0

    @field_validator("password", mode="before")
    @classmethod
    def _secret(cls, value: Any) -> Any:
        return _resolve_secret(value, _BASE_DIR.get())

    @model_validator(mode="after")
    def _https_and_anchor(self) -> HyperplanningSource:
        if self.url.scheme != "https" and not self.allow_insecure_http:
            raise ValueError(
                "url must use https (set allow_insecure_http = true only for a local sandbox)"
            )
        base = _BASE_DIR.get()
        if base is not None and not self.state_dir.is_absolute():
            return self.model_copy(update={"state_dir": base / self.state_dir})
        return self


SourceConfig = Annotated[FilesSource | HyperplanningSource, Field(discriminator="kind")]


class TenantConfig(_Strict):
    """A whole tenant: where to read, where to write, how."""

    tenant: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
    timezone: str = "Europe/Paris"
    school_year: SchoolYear
    source: SourceConfig
    accounts: Annotated[tuple[Account, ...], Field(min_length=1)]
    options: Options = Field(default_factory=Options)
    guard: Guard = Field(default_factory=Guard)
    sync: Sync = Field(default_factory=Sync)
    api_type: str = ""

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from rollbridge.timeconv import zone

        zone(value)
        return value

    @model_validator(mode="after")
    def _family_tags(self) -> TenantConfig:
        """Hyperplanning's `tags_from_families` become `family:<label>` tag attributes."""
        if not isinstance(self.source, HyperplanningSource) or not self.source.tags_from_families:
            return self
        extra = tuple(f"family:{label}" for label in self.source.tags_from_families)
        tags = tuple(dict.fromkeys((*self.options.tag_attributes, *extra)))
        return self.model_copy(
            update={"options": self.options.model_copy(update={"tag_attributes": tags})}
        )

    @model_validator(mode="after")
    def _unique_accounts(self) -> TenantConfig:
        names = [account.name for account in self.accounts]
        if len(names) != len(set(names)):
            raise ValueError("account names must be unique")
        return self

    def stored_secret_names(self) -> dict[str, str]:
        """Account name → store secret name, for accounts whose key lives in the store."""
        found: dict[str, str] = {}
        for account in self.accounts:
            value = account.api_key.get_secret_value()
            if value.startswith(STORE_SECRET_PREFIX):
                found[account.name] = value.removeprefix(STORE_SECRET_PREFIX)
        return found

    def with_api_keys(self, keys: dict[str, SecretStr]) -> TenantConfig:
        """A copy whose named accounts use these keys."""
        accounts = tuple(
            account.model_copy(update={"api_key": keys[account.name]})
            if account.name in keys
            else account
            for account in self.accounts
        )
        return self.model_copy(update={"accounts": accounts})

    @property
    def effective_api_type(self) -> str:
        return self.api_type or f"rollbridge:{self.source.kind}"

    def account(self, name: str) -> Account:
        """The account called `name`, or a ConfigError listing the known ones."""
        for account in self.accounts:
            if account.name == name:
                return account
        known = ", ".join(a.name for a in self.accounts)
        raise ConfigError(f"no account {name!r}; known accounts: {known}", tenant=self.tenant)


class _BaseDirVar:
    """The config file's folder while validating, so relative paths anchor to it."""

    def __init__(self) -> None:
        self._value: Path | None = None

    def get(self) -> Path | None:
        return self._value

    def set(self, value: Path | None) -> None:
        self._value = value


_BASE_DIR = _BaseDirVar()


def _location(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]"] if parts else [f"[{item}]"]
        elif item in ("function-after", "function-before") or "[" in str(item):
            continue
        else:
            parts.append(str(item))
    return ".".join(parts) or "(top level)"


def describe_validation(error: ValidationError, source: str) -> str:
    """One readable line per problem: file, dotted field, what is wrong or allowed."""
    lines = [f"{source}: the configuration is not valid"]
    items = error.errors(include_url=False, include_input=False)
    locations = [tuple(item["loc"]) for item in items]
    for item in items:
        loc = tuple(item["loc"])
        # A list that failed because one of its items failed says nothing new.
        if item["type"] == "too_short" and any(
            o[: len(loc)] == loc and o != loc for o in locations
        ):
            continue
        where = _location(tuple(item["loc"]))
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown field (check its spelling against `rollbridge init`)"
        elif item["type"] == "missing":
            message = "required field is missing"
        elif item["type"] == "literal_error":
            message = f"not allowed: {message}"
        lines.append(f"  - {where}: {message}")
    return "\n".join(lines)


def parse_config(
    data: dict[str, Any], *, source: str, base_dir: Path | None = None
) -> TenantConfig:
    """Validate already-parsed TOML data; errors name `source`."""
    _BASE_DIR.set(base_dir)
    try:
        return TenantConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe_validation(exc, source)) from None
    finally:
        _BASE_DIR.set(None)


def load_config(path: Path) -> TenantConfig:
    """Read and validate a tenant TOML file."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration ({exc.strerror})") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_config(data, source=str(path), base_dir=path.parent.resolve())
