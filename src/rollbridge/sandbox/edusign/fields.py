"""Body validation as Edusign does it: Joi-style messages, unknown keys ignored.

A kind declares its fields as `{NAME: FieldType}`; `validated` turns a request body into
the stored form or raises `Refused` with every message at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from rollbridge.sandbox.edusign.wire import Obj, Refused
from rollbridge.timeconv import iso_z, parse_instant

FieldType = Literal["str", "strs", "int", "flag", "obj", "instant"]

INVALID = object()  # what `convert` returns after recording a message
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_EMPTY: dict[FieldType, Any] = {
    "str": "",
    "strs": [],
    "int": 0,
    "flag": 0,
    "obj": {},
    "instant": "",
}


def defaults_for(spec: Mapping[str, FieldType]) -> Obj:
    """Each field of `spec` at its empty value (`""`, `[]`, `0`, `{}`)."""
    return {name: _EMPTY[kind] for name, kind in spec.items()}


def require(raw: Mapping[str, Any], names: Iterable[str], errors: list[str]) -> None:
    """Record a message for each of `names` missing or empty in `raw`."""
    for name in names:
        if raw.get(name) in (None, ""):
            errors.append(f'"{name}" is required')


def convert(name: str, kind: FieldType, value: Any, errors: list[str]) -> Any:
    """One field in its stored form, or `INVALID` after recording a Joi-style message."""
    if kind == "str":
        if value is None or isinstance(value, str):
            return value or ""
        errors.append(f'"{name}" must be a string')
    elif kind == "strs":
        if value is None:
            return []
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return list(value)
        errors.append(f'"{name}" must be an array of strings')
    elif kind == "int":
        if value is None:
            return 0
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        errors.append(f'"{name}" must be a number')
    elif kind == "flag":
        if isinstance(value, bool) or value in (0, 1):
            return int(value)
        errors.append(f'"{name}" must be a boolean')
    elif kind == "obj":
        if value is None or isinstance(value, dict):
            return dict(value or {})
        errors.append(f'"{name}" must be an object')
    else:
        try:
            return iso_z(parse_instant(value))
        except (TypeError, ValueError, AttributeError):
            errors.append(f'"{name}" must be an ISO 8601 date with a time zone')
    return INVALID


def clean(raw: Mapping[str, Any], spec: Mapping[str, FieldType], errors: list[str]) -> Obj:
    """The known fields of `raw`, converted; unknown keys are ignored as the API does."""
    out: Obj = {}
    for name, value in raw.items():
        kind = spec.get(name)
        if kind is not None:
            converted = convert(name, kind, value, errors)
            if converted is not INVALID:
                out[name] = converted
    return out


def check_id(raw: Mapping[str, Any], errors: list[str]) -> None:
    """Record a message if `raw` carries an `ID` that is not a string."""
    if "ID" in raw and not isinstance(raw["ID"], str):
        errors.append('"ID" must be a string')


def _check_email(fields: Mapping[str, Any], errors: list[str]) -> None:
    email = fields.get("EMAIL")
    if email and not _EMAIL.fullmatch(email):
        errors.append('"EMAIL" must be a valid email')


def validated(raw: Any, spec: Mapping[str, FieldType], required: Iterable[str]) -> Obj:
    """The stored form of a person or group body, or `Refused` with every message."""
    if not isinstance(raw, dict):
        raise Refused(["body must be an object"])
    errors: list[str] = []
    require(raw, required, errors)
    check_id(raw, errors)
    fields = clean(raw, spec, errors)
    _check_email(fields, errors)
    if errors:
        raise Refused(errors)
    return fields
