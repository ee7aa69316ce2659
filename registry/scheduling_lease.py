"""The lease row that elects one scheduler among workers sharing a SQLite database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from registry.db.base import Base


class SchedulerLease(Base):
    """Held by one scheduler until `expires_at`; the holder renews it while it runs.

    PostgreSQL uses a session advisory lock instead, which the server frees when the
    holder's connection dies; SQLite has no such lock, so a lease that lapses does it.
    """

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]
