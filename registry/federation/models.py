"""Federation and association rows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from registry.db.base import Base, CreatedAtMixin, IdMixin


class Association(IdMixin, CreatedAtMixin, Base):
    """An industry association: owns schemes, rulebooks and SLA settings; vendors join one."""

    __tablename__ = "association"

    slug: Mapped[str] = mapped_column(String(64), unique=True)
    """URL-safe handle, e.g. `csia`."""
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))


class FederationKeyRecord(IdMixin, CreatedAtMixin, Base):
    """Public half of each federation signing key ever used, so old signatures stay checkable."""

    __tablename__ = "federation_key"

    key_id: Mapped[str] = mapped_column(String(64), unique=True)
    public_key: Mapped[bytes]
    retired_at: Mapped[datetime | None]
