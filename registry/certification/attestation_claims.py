"""What a self-regulation attestation claims, and the checks that need no write lock.

Checks run in the order a vendor can act on: shape, whose statement it is, freshness,
signature by a usable key of that vendor, period. The scheme's criteria are checked
against the version the write phase resolves (`all_met`). Everything here is pure or
reads only what the read phase loaded, so it runs before the write transaction opens
and SQLite's single writer is held only for the inserts and the log append.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import msgspec

from attestations.canonical import CanonicalJSON
from attestations.envelope import Envelope, verify_envelope
from attestations.errors import AttestationError
from attestations.keys import PublicKey
from registry.certification.schemes import SchemeVersion
from registry.certification.services import MemberVendorRef
from registry.certification.transitions import rules_of
from registry.errors import InvalidInput, InvalidSignature, RegistryError
from registry.kernel.clock import parse_iso
from registry.kernel.predicates import ATTESTATION_PREDICATE
from registry.keys.services import VendorKeyColumns, vendor_key_of
from registry.settings import Settings
from registry.signed_statements import (
    check_issued_at,
    decode_predicate,
    envelope_from_json,
    open_statement,
    signature_error,
)
from registry.transparency.entries import EntryType
from registry.transparency.services import PendingLeaf

KeyAnswers = dict[tuple[str, datetime], PublicKey | RegistryError]
"""What each (key id, signing time) resolved to within one submission."""


EvidenceUrl = Annotated[str, msgspec.Meta(min_length=1, max_length=2048)]
"""Where a criterion's evidence lives: authenticated free text that reaches the log, so
bounded like a URL a browser accepts."""
EvidenceDigest = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}$")]
"""Hex SHA-256 of the evidence document."""


class CriterionClaim(msgspec.Struct, forbid_unknown_fields=True):
    """The vendor's answer for one criterion, with where its evidence lives."""

    met: bool
    evidence_url: EvidenceUrl | None = None
    evidence_sha256: EvidenceDigest | None = None


class AttestationClaims(msgspec.Struct, forbid_unknown_fields=True):
    """The predicate of a self-regulation attestation."""

    vendor: str
    scheme: str
    """`slug@version`, e.g. `consumer-protection@1`."""
    period_start: str
    period_end: str
    issued_at: str
    criteria: dict[str, CriterionClaim]
    metrics: dict[str, float] = {}


@dataclass(frozen=True)
class CheckedAttestation:
    """An envelope that passed every check that needs no write lock."""

    envelope: Envelope
    canonical: bytes
    """RFC 8785 bytes of the envelope, as stored and hashed."""
    digest: str
    claims: AttestationClaims
    key_id: str
    issued_at: datetime
    period_start: datetime
    period_end: datetime


def parse_envelope(submitted: Envelope | Mapping[str, Any]) -> Envelope | RegistryError:
    """The envelope a submission carries, or why it is not one.

    The one parse of a submitted envelope, for single submissions and for each of a
    batch alike: a JSON object from the API is validated here, by the library's rules
    (`Envelope.from_dict`), and a malformed one becomes the error its answer carries
    rather than an exception, so that a batch refuses it on its own. An `Envelope`
    (in-process callers) was validated when it was built.
    """
    if isinstance(submitted, Envelope):
        return submitted
    try:
        return envelope_from_json(submitted)
    except RegistryError as exc:
        return exc


def parse_period(start: str, end: str) -> tuple[datetime, datetime]:
    """A half-open period [start, end) with zones, start before end."""
    try:
        period_start, period_end = parse_iso(start), parse_iso(end)
    except ValueError as exc:
        raise InvalidInput(
            "period_start and period_end must be ISO 8601 times with a zone",
            fields={"period": "not ISO 8601 with zone"},
        ) from exc
    if period_start >= period_end:
        raise InvalidInput(
            "period_start must be before period_end", fields={"period": "empty or reversed"}
        )
    return period_start, period_end


def check_attestation(
    vendor: MemberVendorRef,
    envelope: Envelope,
    canonical: bytes,
    digest: str,
    *,
    settings: Settings,
    now: datetime,
    keys: KeyAnswers,
    key_rows: Mapping[str, VendorKeyColumns],
) -> CheckedAttestation:
    """Every check of one envelope that needs no write lock; the first failure raises."""
    statement = open_statement(envelope, ATTESTATION_PREDICATE)
    claims = decode_predicate(statement, AttestationClaims)
    if claims.vendor != vendor.slug:
        raise InvalidInput(
            f"the statement names vendor {claims.vendor!r}, not {vendor.slug!r}",
            fields={"vendor": "mismatch"},
        )
    issued_at = check_issued_at(claims.issued_at, now, settings)
    key_id = verify_signature(envelope, vendor.id, issued_at, keys, key_rows, received_at=now)
    period_start, period_end = parse_period(claims.period_start, claims.period_end)
    if period_end > now + settings.signature_clock_skew:
        raise InvalidInput(
            "the attested period has not ended yet", fields={"period_end": "in the future"}
        )
    return CheckedAttestation(
        envelope, canonical, digest, claims, key_id, issued_at, period_start, period_end
    )


def verify_signature(
    envelope: Envelope,
    vendor_id: int,
    signed_at: datetime,
    keys: KeyAnswers,
    key_rows: Mapping[str, VendorKeyColumns],
    *,
    received_at: datetime,
) -> str:
    """The id of the vendor key whose signature verifies; every refusal is precise.

    `keys` lives for one submission, whose envelopes share `received_at`, so the
    (key id, signing time) pair decides a key's answer.
    """
    first_error: RegistryError | None = None
    for keyid in envelope.keyids:
        cache_key = (keyid, signed_at)
        key = keys.get(cache_key)
        if key is None:
            try:
                key = vendor_key_of(key_rows.get(keyid), keyid, vendor_id, signed_at, received_at)
            except RegistryError as exc:
                key = exc
            keys[cache_key] = key
        if isinstance(key, RegistryError):
            first_error = first_error or key
            continue
        try:
            verify_envelope(envelope, {keyid: key}, require={keyid})
        except AttestationError as exc:
            raise signature_error(exc) from exc
        return keyid
    raise first_error or InvalidSignature("the envelope carries no signature")


def all_met(scheme: SchemeVersion, claims: AttestationClaims) -> bool:
    """Whether every criterion is claimed met, once each of the scheme's is answered and
    none is unknown."""
    expected = rules_of(scheme).criterion_ids
    missing = [c for c in expected if c not in claims.criteria]
    unknown = sorted(set(claims.criteria) - set(expected))
    if missing:
        raise InvalidInput(
            f"the statement does not answer criteria {', '.join(missing)} of {scheme.label}",
            fields={f"criteria.{c}": "missing" for c in missing},
        )
    if unknown:
        raise InvalidInput(
            f"{scheme.label} has no criteria {', '.join(unknown)}",
            fields={f"criteria.{c}": "unknown" for c in unknown},
        )
    return all(claims.criteria[cid].met for cid in expected)


def attestation_leaf(
    vendor: MemberVendorRef, scheme: SchemeVersion, item: CheckedAttestation
) -> PendingLeaf:
    """The log leaf of an accepted attestation: its scheme and the envelope, whole."""
    return PendingLeaf(
        EntryType.ATTESTATION,
        {"scheme": scheme.label, "envelope": CanonicalJSON(item.canonical)},
        vendor_id=vendor.id,
        vendor_slug=vendor.slug,
    )
