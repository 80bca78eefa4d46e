"""Encryption at rest for secrets in the store (Fernet: AES-128-CBC + HMAC-SHA256).

The key is 32 random bytes, URL-safe base64 encoded (44 characters). It lives in a file
created with 0600 permissions (`load_or_create_key`) or comes from the environment
(`key_from_env`). Error messages never repeat a key, a token or a plaintext.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from rollbridge.errors import ConfigError, StoreError

HOW_TO_GET_A_KEY = (
    "create one with `python -c 'from cryptography.fernet import Fernet; "
    "print(Fernet.generate_key().decode())'` and pass it as ROLLBRIDGE_SECRET_KEY, "
    "or let rollbridge create a key file (rollbridge.store.crypto.load_or_create_key)"
)

_KEY_BYTES = 32  # a Fernet key: 16 bytes signing + 16 bytes encryption


def generate_key() -> bytes:
    """A new random Fernet key."""
    return Fernet.generate_key()


def key_from_env(value: str) -> bytes:
    """The Fernet key in `value` (e.g. ROLLBRIDGE_SECRET_KEY), or a ConfigError saying why not."""
    text = value.strip()
    if not text:
        raise ConfigError(f"the secret key is empty; {HOW_TO_GET_A_KEY}")
    try:
        raw = base64.urlsafe_b64decode(text.encode("ascii"))
    except (UnicodeEncodeError, binascii.Error, ValueError):
        raise ConfigError(
            "the secret key is not URL-safe base64 (expected 44 characters of A-Z, a-z, "
            f"0-9, '-', '_' ending in '='); {HOW_TO_GET_A_KEY}"
        ) from None
    if len(raw) != _KEY_BYTES:
        raise ConfigError(
            f"the secret key decodes to {len(raw)} bytes, a Fernet key has {_KEY_BYTES}; "
            + HOW_TO_GET_A_KEY
        )
    return text.encode("ascii")


def load_or_create_key(path: Path) -> bytes:
    """The key stored in `path`; a new one, written with 0600 permissions, if it is missing."""
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = generate_key()
    try:
        # O_EXCL: if another process created the file meanwhile, read its key instead.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key(path)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")
    return key


def _read_key(path: Path) -> bytes:
    text = path.read_text(encoding="ascii", errors="replace")
    try:
        return key_from_env(text)
    except ConfigError as exc:
        raise ConfigError(f"{exc.message} (key file {path})") from None


def encrypt(key: bytes, text: str) -> str:
    """`text` encrypted and authenticated with `key`, as an ASCII token."""
    return Fernet(key).encrypt(text.encode("utf-8")).decode("ascii")


def decrypt(key: bytes, token: str) -> str:
    """The plaintext of `token`; StoreError if `key` is not the key it was encrypted with."""
    try:
        return Fernet(key).decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError):
        raise StoreError(
            "the secret key does not match the one these secrets were encrypted with; "
            "use the original key (ROLLBRIDGE_SECRET_KEY or the key file), or store the "
            "secrets again"
        ) from None
