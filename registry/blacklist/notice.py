"""Notice and answer (告知与陈述申辩): the subject is told at once and may answer.

A member vendor is notified by a signed webhook and finds the case in its API inbox
(`GET /api/v1/blacklist/vendors/{slug}/cases`); it answers with a DSSE envelope signed by
one of its keys. A subject that is not a member has no inbox: its notice is public (the
`notified` leaf says `channel: public`, part 2's pages show it) and the governing
association's mediators, who read it in their feed, may relay its answer.

Either way the answer window runs from the opening, in the association's working days
or calendar days, and the case moves to voting when the answer arrives or the window ends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from attestations.canonical import canonicalize
from attestations.envelope import Envelope, verify_envelope
from attestations.errors import AttestationError
from registry.blacklist.calendar import window_end
from registry.blacklist.committee import sits_on_an_appeal_of
from registry.blacklist.lookups import association_by_slug, case_by_reference
from registry.blacklist.models import BlacklistCase, CaseAnswer, CaseStep
from registry.blacklist.rulebooks import Terms
from registry.blacklist.states import AnswerChannel, CaseState, DayCounting, StepKind
from registry.blacklist.timeline import record_step
from registry.context import RegistryContext
from registry.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from registry.kernel.caller import Caller, Role
from registry.kernel.clock import isoformat
from registry.keys.services import usable_vendor_key
from registry.membership.models import Vendor
from registry.pagination import Page
from registry.signed_statements import (
    check_issued_at,
    decode_predicate,
    open_statement,
    signature_error,
)
from registry.transparency.services import LogAppender

ANSWER_PREDICATE: Final = "https://trust-registry.dev/attestations/blacklist-answer/v1"
MAX_STATEMENT_CHARS = 8000
MAX_REMEDIES = 20
MAX_REMEDY_CHARS = 1000
MAX_DIGESTS = 50
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class AnswerClaims(msgspec.Struct, forbid_unknown_fields=True):
    """The predicate of a signed answer: which case, which vendor, what it says."""

    case: str
    vendor: str
    statement: str
    issued_at: str
    remedies: list[str] = []
    evidence_digests: list[str] = []


@dataclass(frozen=True)
class CaseView:
    """A case with its timeline and answer, as a caller allowed to see it reads it."""

    case: BlacklistCase
    association: str
    vendor: str | None
    steps: list[CaseStep]
    answer: CaseAnswer | None


async def give_notice(
    session: AsyncSession,
    case: BlacklistCase,
    *,
    vendor_slug: str | None,
    answer_days: int,
    terms: Terms,
    now: datetime,
    appender: LogAppender,
) -> CaseStep:
    """Record the notice: to the member vendor (its webhooks carry the step), or public
    for a non-member (the mediators' feed carries it)."""
    return await record_step(
        session,
        case,
        StepKind.NOTIFIED,
        {
            "channel": "vendor" if case.vendor_id is not None else "public",
            "answer_due_at": isoformat(case.answer_due_at),
            "answer_window_days": answer_days,
            "day_counting": terms.day_counting.value,
            "rule": f"{case.rule_id}@{case.rule_version}",
            "evidence_digest": case.evidence_digest,
        },
        now,
        vendor_slug=vendor_slug,
        appender=appender,
    )


def _text(value: str, field: str, limit: int) -> str:
    text = value.strip()
    if not 0 < len(text) <= limit:
        raise InvalidInput(f"{field} must have 1–{limit} characters", fields={field: "length"})
    return text


def _answer_parts(
    statement: str, remedies: list[str], evidence_digests: list[str]
) -> tuple[str, list[str], list[str]]:
    """The answer's fields, checked: texts bounded, digests hex SHA-256."""
    text = _text(statement, "statement", MAX_STATEMENT_CHARS)
    if len(remedies) > MAX_REMEDIES:
        raise InvalidInput(f"at most {MAX_REMEDIES} remedies", fields={"remedies": "too many"})
    cleaned = [_text(r, "remedies", MAX_REMEDY_CHARS) for r in remedies]
    if len(evidence_digests) > MAX_DIGESTS or not all(_SHA256.match(d) for d in evidence_digests):
        raise InvalidInput(
            f"evidence_digests are at most {MAX_DIGESTS} lowercase hex SHA-256 digests",
            fields={"evidence_digests": "malformed"},
        )
    return text, cleaned, list(evidence_digests)


def may_read_case(caller: Caller, case: BlacklistCase) -> bool:
    """The subject vendor, the federation admin, and the governing association's admins,
    committee members and mediators (appeal panels are added by the committee side)."""
    if caller.role is Role.FEDERATION_ADMIN:
        return True
    if caller.role is Role.VENDOR_ADMIN:
        return case.vendor_id is not None and caller.vendor_id == case.vendor_id
    return (
        caller.role
        in {
            Role.ASSOCIATION_ADMIN,
            Role.COMMITTEE_MEMBER,
            Role.MEDIATOR,
        }
        and caller.association_id == case.association_id
    )


class BlacklistNoticeService:
    """The subject's side of a case: its inbox, the case, its answer."""

    def __init__(self, ctx: RegistryContext) -> None:
        self.ctx = ctx

    async def case(self, caller: Caller, reference: str) -> CaseView:
        """A case, to those who may read it; anyone else learns nothing (NotFound)."""

        async with self.ctx.db.read() as session:
            case = await case_by_reference(session, reference)
            if not (
                may_read_case(caller, case) or await sits_on_an_appeal_of(session, caller, case)
            ):
                raise NotFound(f"no blacklist case {reference!r}")
            return await _view(session, case)

    async def vendor_cases(
        self, caller: Caller, vendor_slug: str, offset: int, limit: int
    ) -> Page[BlacklistCase]:
        """A vendor's cases, newest first: its own inbox, or its association's view."""
        async with self.ctx.db.read() as session:
            vendor = (
                await session.execute(select(Vendor).where(Vendor.slug == vendor_slug))
            ).scalar_one_or_none()
            if vendor is None or not (
                caller.speaks_for_vendor(vendor.id)
                or caller.administers_association(vendor.association_id)
            ):
                raise NotFound(f"no member vendor with slug {vendor_slug!r}")
            query = select(BlacklistCase).where(BlacklistCase.vendor_id == vendor.id)
            rows = list(
                (
                    await session.execute(
                        query.order_by(BlacklistCase.id.desc()).offset(offset).limit(limit)
                    )
                ).scalars()
            )
            total = len((await session.execute(query.with_only_columns(BlacklistCase.id))).all())
            return Page(rows, total, offset, limit)

    async def association_cases(
        self,
        caller: Caller,
        association_slug: str,
        state: CaseState | None,
        offset: int,
        limit: int,
    ) -> Page[BlacklistCase]:
        """The cases an association governs, newest first, for its admins, committee and
        mediators (and the federation admin)."""

        async with self.ctx.db.read() as session:
            association = await association_by_slug(session, association_slug)
            allowed = caller.role is Role.FEDERATION_ADMIN or (
                caller.association_id == association.id
                and caller.role in {Role.ASSOCIATION_ADMIN, Role.COMMITTEE_MEMBER, Role.MEDIATOR}
            )
            if not allowed:
                raise PermissionDenied("only this association's admins, committee and mediators")
            query = select(BlacklistCase).where(BlacklistCase.association_id == association.id)
            if state is not None:
                query = query.where(BlacklistCase.state == state)
            rows = list(
                (
                    await session.execute(
                        query.order_by(BlacklistCase.id.desc()).offset(offset).limit(limit)
                    )
                ).scalars()
            )
            total = len((await session.execute(query.with_only_columns(BlacklistCase.id))).all())
            return Page(rows, total, offset, limit)

    async def answer(self, caller: Caller, reference: str, envelope: Envelope) -> CaseView:
        """The member vendor's signed answer; the case moves to voting. A repeat of the
        same envelope returns the case as it is."""

        statement = open_statement(envelope, ANSWER_PREDICATE)
        claims = decode_predicate(statement, AnswerClaims)
        text, remedies, digests = _answer_parts(
            claims.statement, claims.remedies, claims.evidence_digests
        )
        now = self.ctx.clock.now()
        signed_at = check_issued_at(claims.issued_at, now, self.ctx.settings)
        canonical = envelope.to_dict()
        digest = _digest(canonical)
        async with self.ctx.db.transaction() as session:
            case = await case_by_reference(session, reference)
            if case.vendor_id is None or not caller.speaks_for_vendor(case.vendor_id):
                raise NotFound(f"no blacklist case {reference!r} addressed to you")
            vendor = await session.get(Vendor, case.vendor_id)
            assert vendor is not None  # noqa: S101 - foreign key
            if claims.case != case.reference or claims.vendor != vendor.slug:
                raise InvalidInput(
                    f"the statement must name case {case.reference} and vendor {vendor.slug}",
                    fields={"case": "mismatch", "vendor": "mismatch"},
                )
            existing = await _answer_of(session, case.id)
            if existing is not None and existing.envelope_digest == digest:
                return await _view(session, case)
            _require_open_window(case, existing, now)
            key_id = envelope.signatures[0].keyid if envelope.signatures else ""
            key = await usable_vendor_key(session, key_id, vendor.id, signed_at, now)
            try:
                verify_envelope(envelope, {key_id: key}, require={key_id})
            except AttestationError as exc:
                raise signature_error(exc) from exc
            await _record_answer(
                session,
                case,
                CaseAnswer(
                    case_id=case.id,
                    channel=AnswerChannel.VENDOR,
                    principal_id=caller.principal_id,
                    vendor_id=vendor.id,
                    key_id=key_id,
                    envelope_digest=digest,
                    statement=text,
                    remedies=remedies,
                    evidence_digests=digests,
                    received_at=now,
                    log_index=-1,
                ),
                leaf_body={"channel": "vendor", "key_id": key_id, "envelope": canonical},
                vendor_slug=vendor.slug,
                now=now,
            )
            return await _view(session, case)

    async def relay_answer(
        self,
        caller: Caller,
        reference: str,
        statement: str,
        remedies: list[str],
        evidence_digests: list[str],
    ) -> CaseView:
        """A mediator of the governing association relays a non-member subject's answer."""

        text, cleaned, digests = _answer_parts(statement, remedies, evidence_digests)
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            case = await case_by_reference(session, reference)
            if not (caller.role is Role.MEDIATOR and caller.association_id == case.association_id):
                raise NotFound(f"no blacklist case {reference!r} for your association")
            if case.vendor_id is not None:
                raise Conflict("a member vendor answers its case itself, with a signed envelope")
            existing = await _answer_of(session, case.id)
            _require_open_window(case, existing, now)
            await _record_answer(
                session,
                case,
                CaseAnswer(
                    case_id=case.id,
                    channel=AnswerChannel.MEDIATOR,
                    principal_id=caller.principal_id,
                    vendor_id=None,
                    key_id=None,
                    envelope_digest=None,
                    statement=text,
                    remedies=cleaned,
                    evidence_digests=digests,
                    received_at=now,
                    log_index=-1,
                ),
                leaf_body={
                    "channel": "mediator",
                    "relayed_by": caller.principal_id,
                    "statement_sha256": _digest({"statement": text, "remedies": cleaned}),
                    "evidence_digests": digests,
                },
                vendor_slug=None,
                now=now,
            )
            return await _view(session, case)

    async def close_answer_windows(self) -> int:
        """Move every case whose answer window ended unanswered to voting; the decision
        deadline runs from the window's end (so a late run changes nothing). Idempotent."""
        now = self.ctx.clock.now()
        moved = 0
        async with self.ctx.db.transaction() as session:
            due = list(
                (
                    await session.execute(
                        select(BlacklistCase)
                        .where(
                            BlacklistCase.state == CaseState.AWAITING_ANSWER,
                            BlacklistCase.answer_due_at <= now,
                        )
                        .order_by(BlacklistCase.answer_due_at, BlacklistCase.id)
                        .limit(self.ctx.settings.deadline_scan_batch)
                    )
                ).scalars()
            )
            appender = LogAppender(session, now)
            for case in due:
                _open_voting(case, case.answer_due_at)
                await record_step(
                    session,
                    case,
                    StepKind.ANSWER_WINDOW_CLOSED,
                    {
                        "answer_due_at": isoformat(case.answer_due_at),
                        "decision_due_at": isoformat(case.decision_due_at),  # type: ignore[arg-type]
                    },
                    now,
                    vendor_slug=await _slug(session, case.vendor_id),
                    appender=appender,
                )
                moved += 1
        return moved


def _digest(value: dict[str, Any]) -> str:
    import hashlib

    return hashlib.sha256(canonicalize(value)).hexdigest()


async def _slug(session: AsyncSession, vendor_id: int | None) -> str | None:
    if vendor_id is None:
        return None
    return await session.scalar(select(Vendor.slug).where(Vendor.id == vendor_id))


async def _answer_of(session: AsyncSession, case_id: int) -> CaseAnswer | None:
    return (
        await session.execute(select(CaseAnswer).where(CaseAnswer.case_id == case_id))
    ).scalar_one_or_none()


def _require_open_window(case: BlacklistCase, existing: CaseAnswer | None, now: datetime) -> None:
    if existing is not None:
        raise Conflict(f"case {case.reference} was answered already")
    if case.state is not CaseState.AWAITING_ANSWER or now >= case.answer_due_at:
        raise Conflict(
            f"the answer window of case {case.reference} closed at {isoformat(case.answer_due_at)}"
        )


def _open_voting(case: BlacklistCase, from_moment: datetime) -> None:
    """Voting opens; the decision deadline runs in the case's own terms."""
    terms = case.terms
    case.state = CaseState.VOTING
    case.voting_from = from_moment
    case.decision_due_at = window_end(
        from_moment, int(terms["decision_window_days"]), DayCounting(terms["day_counting"])
    )


async def _record_answer(
    session: AsyncSession,
    case: BlacklistCase,
    answer: CaseAnswer,
    *,
    leaf_body: dict[str, Any],
    vendor_slug: str | None,
    now: datetime,
) -> None:
    case.answered_at = now
    _open_voting(case, now)
    step = await record_step(
        session,
        case,
        StepKind.ANSWERED,
        {**leaf_body, "decision_due_at": isoformat(case.decision_due_at)},  # type: ignore[arg-type]
        now,
        vendor_slug=vendor_slug,
        actor_principal_id=answer.principal_id,
        ref="answer",
    )
    answer.log_index = step.log_index
    session.add(answer)


async def _view(session: AsyncSession, case: BlacklistCase) -> CaseView:
    from registry.federation.models import Association

    await session.flush()
    steps = list(
        (
            await session.execute(
                select(CaseStep).where(CaseStep.case_id == case.id).order_by(CaseStep.id)
            )
        ).scalars()
    )
    association = await session.scalar(
        select(Association.slug).where(Association.id == case.association_id)
    )
    return CaseView(
        case,
        association or "",
        await _slug(session, case.vendor_id),
        steps,
        await _answer_of(session, case.id),
    )
