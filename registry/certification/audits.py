"""Auditor accreditation and signed audit results.

The federation accredits an auditor organisation for some associations and a period,
and registers its keys. An audit result is a DSSE envelope signed by one of those keys;
it counts only if the auditor was accredited, in scope, when it signed. A vendor's audit
periods should follow each other; a gap is accepted but flagged and logged, so the
public and the association see it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from attestations.envelope import Envelope, verify_envelope
from attestations.errors import AttestationError
from attestations.keys import PublicKey
from registry.accounts.models import Principal
from registry.certification.attestation_claims import parse_period
from registry.certification.audit_models import Auditor, AuditRecord, AuditResult
from registry.certification.catalogue import scheme_version
from registry.certification.events import AuditRecorded
from registry.certification.machine import Trigger
from registry.certification.models import TransitionCause
from registry.certification.transitions import Cause, reevaluate, rules_of
from registry.context import RegistryContext
from registry.errors import Conflict, InvalidInput, InvalidSignature, NotFound, PermissionDenied
from registry.events import publish
from registry.federation.models import Association
from registry.kernel.caller import Caller, Role
from registry.kernel.clock import isoformat, parse_iso
from registry.kernel.members import VENDOR, VendorRef, member_vendor
from registry.kernel.patterns import SLUG_PATTERN
from registry.kernel.predicates import AUDIT_PREDICATE
from registry.keys.models import KeyOwnerKind, KeyStatus, SigningKeyRecord
from registry.keys.registration import any_registered, register_key
from registry.keys.services import refuse_if_revoked
from registry.signed_statements import (
    check_issued_at,
    decode_predicate,
    open_statement,
    signature_error,
)
from registry.transparency.entries import EntryType
from registry.transparency.services import LogAppender, PendingLeaf

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")

Outcome = Literal["conformity", "minor_nonconformity", "major_nonconformity"]


class AuditClaims(msgspec.Struct, forbid_unknown_fields=True):
    """The predicate of an audit result."""

    auditor: str
    vendor: str
    scheme: str
    period_start: str
    period_end: str
    issued_at: str
    outcomes: dict[str, Outcome]
    result: Literal["pass", "fail"]
    report_sha256: str
    metrics: dict[str, float] = {}
    next_audit_due: str | None = None


@dataclass(frozen=True)
class SubmittedAudit:
    """An audit and whether this call stored it (False: the same envelope again)."""

    record: AuditRecord
    created: bool
    vendor: str


@dataclass(frozen=True)
class Accreditation:
    """What the federation grants an auditor organisation."""

    slug: str
    name_zh: str
    name_en: str
    public_keys: Sequence[str]
    scope: Sequence[str]
    accredited_from: datetime
    accredited_until: datetime


class AuditService:
    """Accredits auditors and accepts their signed audit results."""

    def __init__(self, ctx: RegistryContext) -> None:
        self.ctx = ctx

    async def accredit(self, caller: Caller, grant: Accreditation) -> Auditor:
        """Accredit an auditor organisation with its keys and scope (federation admins)."""
        if caller.role is not Role.FEDERATION_ADMIN:
            raise PermissionDenied("only the federation accredits auditors")
        if not SLUG_PATTERN.match(grant.slug):
            raise InvalidInput("slug must be lower-case letters, digits and inner hyphens")
        if grant.accredited_from >= grant.accredited_until:
            raise InvalidInput(
                "accredited_from must be before accredited_until",
                fields={"accredited_until": "not after accredited_from"},
            )
        if not grant.public_keys or not grant.scope:
            raise InvalidInput("an accreditation needs at least one key and one association")
        try:
            keys = [PublicKey.from_base64(k) for k in grant.public_keys]
        except AttestationError as exc:
            raise InvalidInput(
                f"public_keys: {exc.reason}", fields={"public_keys": exc.reason}
            ) from exc
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            known = set(
                (
                    await session.execute(
                        select(Association.slug).where(Association.slug.in_(grant.scope))
                    )
                ).scalars()
            )
            unknown = sorted(set(grant.scope) - known)
            if unknown:
                raise InvalidInput(
                    f"no association {', '.join(unknown)}", fields={"scope": "unknown association"}
                )
            if await session.scalar(select(Auditor.id).where(Auditor.slug == grant.slug)):
                raise Conflict(f"auditor {grant.slug!r} is already accredited")
            if await any_registered(session, [k.key_id for k in keys]):
                raise Conflict("one of these keys is already registered")
            principal = Principal(role=Role.AUDITOR, display_name=grant.name_en, created_at=now)
            session.add(principal)
            await session.flush()
            auditor = Auditor(
                slug=grant.slug,
                name_zh=grant.name_zh,
                name_en=grant.name_en,
                principal_id=principal.id,
                scope=sorted(set(grant.scope)),
                accredited_from=grant.accredited_from,
                accredited_until=grant.accredited_until,
                created_at=now,
            )
            session.add(auditor)
            await session.flush()
            for key in keys:
                register_key(
                    session,
                    key,
                    now,
                    auditor_id=auditor.id,
                    authorised_by_principal_id=caller.principal_id,
                )
            auditor.log_index = await LogAppender(session, now).append(
                PendingLeaf(
                    EntryType.AUDITOR_ACCREDITED,
                    {
                        "auditor": auditor.slug,
                        "name_zh": auditor.name_zh,
                        "name_en": auditor.name_en,
                        "key_ids": [k.key_id for k in keys],
                        "scope": auditor.scope,
                        "accredited_from": isoformat(auditor.accredited_from),
                        "accredited_until": isoformat(auditor.accredited_until),
                        "decided_by": caller.principal_id,
                    },
                )
            )
            return auditor

    async def auditors(self) -> list[Auditor]:
        """Every accredited auditor organisation (public)."""
        async with self.ctx.db.read() as session:
            return list((await session.execute(select(Auditor).order_by(Auditor.slug))).scalars())

    async def submit(self, caller: Caller, envelope: Envelope) -> SubmittedAudit:
        """Accept a signed audit result from an accredited auditor, in its scope."""
        digest = envelope.digest()
        async with self.ctx.db.read() as session:
            existing = await _audit_by_digest(session, digest)
        if existing is not None:
            return existing
        statement = open_statement(envelope, AUDIT_PREDICATE)
        claims = decode_predicate(statement, AuditClaims)
        now = self.ctx.clock.now()
        signed_at = check_issued_at(claims.issued_at, now, self.ctx.settings)
        period_start, period_end = parse_period(claims.period_start, claims.period_end)
        if period_end > now + self.ctx.settings.signature_clock_skew:
            raise InvalidInput(
                "the audited period has not ended yet", fields={"period_end": "in the future"}
            )
        next_due = _optional_time(claims.next_audit_due, "next_audit_due")
        if not _SHA256_HEX.fullmatch(claims.report_sha256):
            raise InvalidInput(
                "report_sha256 must be 64 lowercase hex characters",
                fields={"report_sha256": "not a SHA-256 hex digest"},
            )
        async with self.ctx.db.transaction() as session:
            existing = await _audit_by_digest(session, digest)
            if existing is not None:
                return existing
            auditor = await self._caller_auditor(session, caller, claims.auditor)
            key_id = await _verify_auditor_signature(session, envelope, auditor, signed_at, now)
            _check_accreditation(auditor, signed_at)
            vendor = await member_vendor(session, claims.vendor)
            _check_period(auditor, vendor, period_start, period_end)
            association = await session.get(Association, vendor.association_id)
            assert association is not None  # noqa: S101 - foreign key
            if association.slug not in auditor.scope:
                raise PermissionDenied(
                    f"auditor {auditor.slug} is not accredited for members of {association.slug}"
                )
            scheme = await scheme_version(
                session, vendor.association_id, claims.scheme, latest_only=False, now=now
            )
            _check_outcomes(rules_of(scheme).criterion_ids, claims)
            gap_before = await _continuity(session, vendor.id, period_start, period_end)
            record = AuditRecord(
                vendor_id=vendor.id,
                auditor_id=auditor.id,
                scheme_id=scheme.id,
                key_id=key_id,
                envelope=envelope.to_json(),
                envelope_digest=digest,
                period_start=period_start,
                period_end=period_end,
                issued_at=signed_at,
                result=AuditResult(claims.result),
                outcomes=dict(claims.outcomes),
                metrics=dict(claims.metrics),
                report_sha256=claims.report_sha256,
                next_audit_due=next_due,
                gap_before=gap_before,
                received_at=now,
                log_index=0,
            )
            appender = LogAppender(session, now)
            record.log_index = await appender.append(
                PendingLeaf(
                    EntryType.AUDIT,
                    {
                        "auditor": auditor.slug,
                        "scheme": scheme.label,
                        "gap_before": gap_before,
                        "envelope": envelope.to_dict(),
                    },
                    vendor_id=vendor.id,
                    vendor_slug=vendor.slug,
                )
            )
            session.add(record)
            await session.flush()
            publish(
                session,
                AuditRecorded(
                    audit_id=record.id,
                    vendor_id=vendor.id,
                    association_id=vendor.association_id,
                    scheme_id=scheme.id,
                    auditor_id=auditor.id,
                    passed=record.result is AuditResult.PASS,
                    major_nonconformities=tuple(
                        sorted(
                            criterion
                            for criterion, outcome in claims.outcomes.items()
                            if outcome == "major_nonconformity"
                        )
                    ),
                    period_end=period_end,
                    log_index=record.log_index,
                    at=now,
                ),
            )
            await reevaluate(
                session,
                vendor,
                Trigger.EVIDENCE,
                Cause(TransitionCause.AUDIT, ref=f"audit:{record.id}"),
                now,
                evidence_scheme=scheme,
                appender=appender,
            )
            return SubmittedAudit(record, created=True, vendor=vendor.slug)

    async def _caller_auditor(self, session: AsyncSession, caller: Caller, named: str) -> Auditor:
        auditor = (
            await session.execute(
                select(Auditor).where(Auditor.principal_id == caller.principal_id)
            )
        ).scalar_one_or_none()
        if auditor is None:
            raise PermissionDenied("this account is not an accredited auditor organisation")
        if auditor.slug != named:
            raise InvalidInput(
                f"the statement names auditor {named!r}, but you are {auditor.slug!r}",
                fields={"auditor": "mismatch"},
            )
        return auditor

    async def list_own(
        self, caller: Caller, *, offset: int, limit: int
    ) -> tuple[list[tuple[AuditRecord, str]], int]:
        """The calling auditor's submitted audits, newest first."""
        async with self.ctx.db.read() as session:
            auditor = (
                await session.execute(
                    select(Auditor).where(Auditor.principal_id == caller.principal_id)
                )
            ).scalar_one_or_none()
            if auditor is None:
                raise PermissionDenied("this account is not an accredited auditor organisation")
            total = await session.scalar(
                select(func.count()).where(AuditRecord.auditor_id == auditor.id)
            )
            rows = await session.execute(
                select(AuditRecord, VENDOR.c.slug)
                .join(VENDOR, VENDOR.c.id == AuditRecord.vendor_id)
                .where(AuditRecord.auditor_id == auditor.id)
                .order_by(AuditRecord.id.desc())
                .offset(offset)
                .limit(limit)
            )
            return [(audit, slug) for audit, slug in rows.all()], total or 0


def _optional_time(value: str | None, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_iso(value)
    except ValueError as exc:
        raise InvalidInput(
            f"{field} must be an ISO 8601 time with a zone", fields={field: "invalid"}
        ) from exc


def _check_accreditation(auditor: Auditor, signed_at: datetime) -> None:
    """Accredited at the moment of signing, and not withdrawn before it."""
    if auditor.withdrawn_at is not None and signed_at >= auditor.withdrawn_at:
        raise PermissionDenied(f"auditor {auditor.slug}'s accreditation was withdrawn")
    if not auditor.accredited_from <= signed_at < auditor.accredited_until:
        raise PermissionDenied(
            f"auditor {auditor.slug} is accredited from {isoformat(auditor.accredited_from)} "
            f"until {isoformat(auditor.accredited_until)}, not at {isoformat(signed_at)}"
        )


def _check_period(
    auditor: Auditor, vendor: VendorRef, period_start: datetime, period_end: datetime
) -> None:
    """The audited period lies within the auditor's accreditation (an auditor cannot vouch
    for months it was not accredited for) and does not start before the day the vendor
    applied (its record is created with the first application): nothing earlier was under
    the scheme's rules."""
    if period_start < auditor.accredited_from or period_end > auditor.accredited_until:
        raise InvalidInput(
            f"the audited period must lie within auditor {auditor.slug}'s accreditation, "
            f"{isoformat(auditor.accredited_from)} to {isoformat(auditor.accredited_until)}",
            fields={"period": "outside the auditor's accreditation"},
        )
    if period_start.astimezone(UTC).date() < vendor.created_at.date():
        raise InvalidInput(
            f"the audited period may not start before {vendor.slug} applied "
            f"({vendor.created_at.date().isoformat()})",
            fields={"period_start": "before the vendor's application"},
        )


async def _verify_auditor_signature(
    session: AsyncSession,
    envelope: Envelope,
    auditor: Auditor,
    signed_at: datetime,
    received_at: datetime,
) -> str:
    keys = (
        await session.execute(
            select(SigningKeyRecord).where(
                SigningKeyRecord.key_id.in_(envelope.keyids),
                SigningKeyRecord.owner_kind == KeyOwnerKind.AUDITOR,
                SigningKeyRecord.auditor_id == auditor.id,
            )
        )
    ).scalars()
    usable: dict[str, PublicKey] = {}
    refusals: list[str] = []
    for k in keys:
        if k.status is KeyStatus.PENDING:
            continue
        try:
            refuse_if_revoked(k.key_id, k.revoked_at, signed_at, received_at)
        except InvalidSignature as exc:
            refusals.append(exc.detail)
            continue
        usable[k.key_id] = PublicKey(k.public_key)
    if not usable:
        raise InvalidSignature(
            f"the audit is not signed by a current key of auditor {auditor.slug}"
            + (f": {'; '.join(refusals)}" if refusals else "")
        )
    try:
        return verify_envelope(envelope, usable)[0]
    except AttestationError as exc:
        raise signature_error(exc) from exc


def _check_outcomes(criteria: list[str], claims: AuditClaims) -> None:
    missing = [c for c in criteria if c not in claims.outcomes]
    if missing:
        raise InvalidInput(
            f"the audit has no outcome for criteria {', '.join(missing)}",
            fields={f"outcomes.{c}": "missing" for c in missing},
        )
    unknown = sorted(set(claims.outcomes) - set(criteria))
    if unknown:
        raise InvalidInput(
            f"the scheme has no criteria {', '.join(unknown)}",
            fields={f"outcomes.{c}": "unknown" for c in unknown},
        )
    if claims.result == "pass" and "major_nonconformity" in claims.outcomes.values():
        raise InvalidInput(
            "an audit with a major nonconformity cannot pass", fields={"result": "inconsistent"}
        )


async def _continuity(
    session: AsyncSession, vendor_id: int, start: datetime, end: datetime
) -> bool:
    """Refuse overlaps with earlier audits; True when a gap precedes this period."""
    overlapping = await session.scalar(
        select(func.count()).where(
            AuditRecord.vendor_id == vendor_id,
            AuditRecord.period_start < end,
            AuditRecord.period_end > start,
        )
    )
    if overlapping:
        raise Conflict(
            "the audited period overlaps an accepted audit of this vendor",
            fields={"period": "overlaps an accepted audit"},
        )
    previous_end = await session.scalar(
        select(func.max(AuditRecord.period_end)).where(
            AuditRecord.vendor_id == vendor_id, AuditRecord.period_end <= start
        )
    )
    return previous_end is not None and previous_end < start


async def _audit_by_digest(session: AsyncSession, digest: str) -> SubmittedAudit | None:
    row = (
        await session.execute(
            select(AuditRecord, VENDOR.c.slug)
            .join(VENDOR, VENDOR.c.id == AuditRecord.vendor_id)
            .where(AuditRecord.envelope_digest == digest)
        )
    ).one_or_none()
    return None if row is None else SubmittedAudit(row[0], created=False, vendor=row[1])


async def auditor_principal_for_key(
    session: AsyncSession, key: SigningKeyRecord, now: datetime
) -> int:
    """The principal an accredited auditor's key logs in as; refused once the
    accreditation lapsed (handed to `AccountService` by the composition root)."""
    auditor = await session.get(Auditor, key.auditor_id) if key.auditor_id else None
    if auditor is None:
        raise NotFound("no auditor for this key")
    _check_accreditation(auditor, now)
    return auditor.principal_id
