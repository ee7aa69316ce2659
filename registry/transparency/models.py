"""Log entries, stored perfect-subtree hashes, the log head and signed checkpoints."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from registry.db.base import Base, CreatedAtMixin

MAX_LOG_SIZE = (1 << 63) - 1
"""Indexes and sizes are BIGINT columns (signed 64-bit on both databases)."""


class LogEntry(CreatedAtMixin, Base):
    """One leaf: the exact bytes hashed into the tree, typed and linked to its vendor."""

    __tablename__ = "log_entry"

    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    entry_type: Mapped[str] = mapped_column(String(64))
    vendor_id: Mapped[int | None] = mapped_column(ForeignKey("vendor.id"))
    leaf: Mapped[bytes] = mapped_column(LargeBinary)
    """RFC 8785 canonical JSON of the entry; its leaf hash is SHA-256(0x00 || leaf)."""

    __table_args__ = (Index("ix_log_entry_vendor_index", "vendor_id", "index"),)


class LogNode(Base):
    """The hash of a perfect subtree (level, index); level 0 holds leaf hashes.

    Keeping every completed subtree makes appends O(log n) writes and any inclusion or
    consistency proof O(log n) reads, as with the tiles of Trillian/Tessera logs.
    """

    __tablename__ = "log_node"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary)


class LogHead(Base):
    """A single row holding the tree size; writers lock it to append one at a time."""

    __tablename__ = "log_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)


class LogCheckpoint(CreatedAtMixin, Base):
    """A signed C2SP checkpoint; at most one per size, and sizes only grow."""

    __tablename__ = "log_checkpoint"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary)
    note: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[datetime]
