"""Transparency-log shapes on the wire: binary values travel as standard base64.

An entry response is also the proof bundle `registry verify --entry` reads offline, so
it carries everything needed: the exact leaf bytes, the audit path and the signed note.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from attestations.canonical import parse_json
from attestations.keys import b64encode
from member_api.schemas import PageOut
from registry.transparency.models import LogCheckpoint, LogEntry
from registry.transparency.services import InclusionProof


class InclusionProofOut(msgspec.Struct):
    """RFC 9162 §2.1.3 audit path of `leaf_index` in the tree of `tree_size` leaves."""

    leaf_index: int
    tree_size: int
    hashes: list[str]


class EntryWithProofOut(msgspec.Struct):
    """One leaf, decoded, with its inclusion proof against a signed checkpoint."""

    index: int
    leaf: str
    """Base64 of the exact bytes hashed into the tree: SHA-256(0x00 || leaf) is the leaf hash."""
    entry: dict[str, Any]
    inclusion_proof: InclusionProofOut
    checkpoint: str
    """The C2SP signed note the proof is against; it verifies with /api/v1/federation/key."""


class ConsistencyProofOut(msgspec.Struct):
    """RFC 9162 §2.1.4 proof that the tree of `first` leaves is a prefix of `second`'s."""

    first: int
    second: int
    hashes: list[str]


class LogEntryOut(msgspec.Struct):
    """One entry of a vendor's history; fetch its proof from /api/v1/log/entries/{index}."""

    index: int
    type: str
    recorded_at: datetime
    leaf: str
    entry: dict[str, Any]


class LogEntryPage(msgspec.Struct):
    """A page of a vendor's log entries, oldest first."""

    items: list[LogEntryOut]
    page: PageOut


def decoded_entry(entry: LogEntry) -> dict[str, Any]:
    """The leaf bytes as JSON; they are RFC 8785 canonical JSON by construction."""
    document: dict[str, Any] = parse_json(entry.leaf)
    return document


def entry_with_proof_out(
    entry: LogEntry, proof: InclusionProof, checkpoint: LogCheckpoint
) -> EntryWithProofOut:
    """Shape an entry, its proof and the checkpoint into the proof bundle."""
    return EntryWithProofOut(
        index=entry.index,
        leaf=b64encode(entry.leaf),
        entry=decoded_entry(entry),
        inclusion_proof=InclusionProofOut(
            leaf_index=proof.leaf_index,
            tree_size=proof.tree_size,
            hashes=[b64encode(value) for value in proof.hashes],
        ),
        checkpoint=checkpoint.note,
    )


def log_entry_out(entry: LogEntry) -> LogEntryOut:
    """Shape one entry of a history page."""
    return LogEntryOut(
        index=entry.index,
        type=entry.entry_type,
        recorded_at=entry.created_at,
        leaf=b64encode(entry.leaf),
        entry=decoded_entry(entry),
    )
