"""Secrets (API keys, passwords) stored encrypted with the store's key."""

from __future__ import annotations

import sqlalchemy as sa
from pydantic import SecretStr

from rollbridge.errors import StoreError
from rollbridge.store import crypto
from rollbridge.store.base import StoreBase
from rollbridge.store.tables import secrets as secrets_table


class SecretsMixin(StoreBase):
    """One encrypted value per (tenant, name)."""

    def put_secret(self, tenant: str, name: str, value: SecretStr) -> None:
        """Store `value` encrypted with the store's key."""
        if self._key is None:
            raise StoreError(
                f"cannot store a secret without a secret key; {crypto.HOW_TO_GET_A_KEY}",
                tenant=tenant,
                secret=name,
            )
        token = crypto.encrypt(self._key, value.get_secret_value())
        stmt = self._upsert(secrets_table, ("tenant", "name"), ("ciphertext",), changed_only=False)
        with self._tx("store a secret", tenant=tenant, secret=name) as conn:
            conn.execute(stmt, {"tenant": tenant, "name": name, "ciphertext": token})

    def get_secret(self, tenant: str, name: str) -> SecretStr | None:
        """The decrypted secret, None if none is stored."""
        stmt = sa.select(secrets_table.c.ciphertext).where(
            secrets_table.c.tenant == tenant, secrets_table.c.name == name
        )
        with self._read("read a secret", tenant=tenant, secret=name) as conn:
            token = conn.execute(stmt).scalar_one_or_none()
        if token is None:
            return None
        if self._key is None:
            raise StoreError(
                "a secret is stored but the store was opened without the secret key; "
                "pass the key it was stored with (ROLLBRIDGE_SECRET_KEY or the key file)",
                tenant=tenant,
                secret=name,
            )
        try:
            return SecretStr(crypto.decrypt(self._key, token))
        except StoreError as exc:
            raise StoreError(exc.message, tenant=tenant, secret=name) from None
