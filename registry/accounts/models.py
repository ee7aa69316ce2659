"""Principal, API token and login challenge rows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from registry.db.base import Base, CreatedAtMixin, IdMixin
from registry.kernel.caller import Role


def _role_enum() -> Enum:
    return Enum(Role, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e])


class Principal(IdMixin, CreatedAtMixin, Base):
    """Someone who acts with a role, scoped to an association or a vendor where the role says."""

    __tablename__ = "principal"

    role: Mapped[Role] = mapped_column(_role_enum())
    display_name: Mapped[str] = mapped_column(String(200))
    association_id: Mapped[int | None] = mapped_column(ForeignKey("association.id"), index=True)
    vendor_id: Mapped[int | None] = mapped_column(ForeignKey("vendor.id"), index=True)
    disabled_at: Mapped[datetime | None]


class ApiToken(IdMixin, CreatedAtMixin, Base):
    """A bearer token; only its SHA-256 is stored, the token itself is shown once."""

    __tablename__ = "api_token"

    principal_id: Mapped[int] = mapped_column(ForeignKey("principal.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    """First characters of the token, to tell tokens apart in listings and logs."""
    label: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(_role_enum())
    association_id: Mapped[int | None] = mapped_column(ForeignKey("association.id"))
    vendor_id: Mapped[int | None] = mapped_column(ForeignKey("vendor.id"))
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    via_key_id: Mapped[str | None] = mapped_column(String(64), index=True)
    """The signing key whose challenge signature minted this token, for login tokens;
    revoking that key revokes the token in the same transaction."""


class LoginChallenge(IdMixin, CreatedAtMixin, Base):
    """A one-time nonce a key holder signs to log in; used once, then never again."""

    __tablename__ = "login_challenge"

    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    key_id: Mapped[str] = mapped_column(String(64), index=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
