"""The ways out of a listing: appeal to another association, credit repair, expiry.

- **Appeal** (申诉): within the appeal window (60 days by default) of the decision the
  listed vendor files a signed envelope; a panel of committee members of *other*
  associations is drawn at once by the logged, reproducible procedure of
  `registry.blacklist.panels` and decides within the appeal period by the same signed
  vote rule. Overturned → the listing is retracted (kept) and its hold lifted.
- **Credit repair** (信用修复): after the tier's minimum period the vendor applies with a
  signed envelope (commitment, remediation evidence digests, what changed); the governing
  committee decides within the repair period. Granted → delisted early, with a watch
  period. Repairs are free: nothing here asks for or records any payment.
- **Expiry**: a listing ends at `published_until` (the scheduler's job), logged.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from attestations import merkle
from attestations.canonical import canonicalize
from attestations.envelope import Envelope, sign_envelope, verify_envelope
from attestations.errors import AttestationError
from attestations.keys import SigningKey
from attestations.statement import make_statement
from registry.accounts.models import Principal
from registry.blacklist.calendar import window_end
from registry.blacklist.committee import became_final, end_listing
from registry.blacklist.events import RepairApplied
from registry.blacklist.listings import TIER_POLICIES, repair_open_from
from registry.blacklist.lookups import case_by_reference, vendor_slug_of
from registry.blacklist.models import (
    Appeal,
    BlacklistCase,
    CommitteeMember,
    Listing,
    Recusal,
    Repair,
    Vote,
)
from registry.blacklist.panels import (
    MIN_PANEL_SIZE,
    Candidate,
    draw_panel,
    eligible_candidates,
    panel_seed,
)
from registry.blacklist.signing import case_subject
from registry.blacklist.states import (
    AppealState,
    DayCounting,
    ListingState,
    RepairState,
    StepKind,
    Tier,
)
from registry.blacklist.timeline import record_step
from registry.context import RegistryContext
from registry.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from registry.events import publish
from registry.kernel.caller import Caller, Role
from registry.kernel.clock import isoformat
from registry.keys.services import usable_vendor_key
from registry.signed_statements import (
    check_issued_at,
    decode_predicate,
    open_statement,
    signature_error,
)
from registry.transparency.services import read_nodes

APPEAL_PREDICATE: Final = "https://trust-registry.dev/attestations/blacklist-appeal/v1"
REPAIR_PREDICATE: Final = "https://trust-registry.dev/attestations/blacklist-repair/v1"
MAX_TEXT_CHARS = 8000
MAX_DIGESTS = 50
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class AppealClaims(msgspec.Struct, forbid_unknown_fields=True):
    """The predicate of a signed appeal."""

    case: str
    vendor: str
    grounds: str
    issued_at: str
    evidence_digests: list[str] = []


class RepairClaims(msgspec.Struct, forbid_unknown_fields=True):
    """The predicate of a signed credit-repair application."""

    case: str
    vendor: str
    commitment: str
    changes: str
    issued_at: str
    remediation_digests: list[str] = []


def _statement(predicate_type: str, case: str, vendor: str, predicate: dict[str, Any]) -> bytes:
    """The in-toto statement of an appeal or repair: about the case, naming the vendor."""
    return make_statement(
        [case_subject(case)], predicate_type, {"case": case, "vendor": vendor, **predicate}
    ).to_bytes()


def appeal_envelope(
    key: SigningKey,
    *,
    case: str,
    vendor: str,
    grounds: str,
    issued_at: datetime,
    evidence_digests: Sequence[str] = (),
) -> Envelope:
    """A vendor's signed appeal (the CLI, the demo and the tests build it here)."""
    predicate = {
        "grounds": grounds,
        "issued_at": isoformat(issued_at),
        "evidence_digests": list(evidence_digests),
    }
    return sign_envelope(_statement(APPEAL_PREDICATE, case, vendor, predicate), [key])


def repair_envelope(
    key: SigningKey,
    *,
    case: str,
    vendor: str,
    commitment: str,
    changes: str,
    issued_at: datetime,
    remediation_digests: Sequence[str] = (),
) -> Envelope:
    """A vendor's signed credit-repair application."""
    predicate = {
        "commitment": commitment,
        "changes": changes,
        "issued_at": isoformat(issued_at),
        "remediation_digests": list(remediation_digests),
    }
    return sign_envelope(_statement(REPAIR_PREDICATE, case, vendor, predicate), [key])


def _text(value: str, field: str) -> str:
    text = value.strip()
    if not text or len(text) > MAX_TEXT_CHARS:
        raise InvalidInput(
            f"{field} is 1 to {MAX_TEXT_CHARS} characters", fields={field: "empty or too long"}
        )
    return text


def _digests(values: Sequence[str], field: str) -> list[str]:
    if len(values) > MAX_DIGESTS or not all(_SHA256.match(d) for d in values):
        raise InvalidInput(
            f"{field} are at most {MAX_DIGESTS} lowercase hex SHA-256 digests",
            fields={field: "malformed"},
        )
    return list(values)


async def log_root(session: AsyncSession, size: int) -> bytes:
    """RFC 9162 root of the log's first `size` leaves, in this transaction."""
    return merkle.fold(await read_nodes(session, merkle.root_plan(size).node_ids))


class BlacklistRemedyService:
    """Appeals, panels, credit repair and listing expiry."""

    def __init__(self, ctx: RegistryContext) -> None:
        self.ctx = ctx

    async def _signed(
        self,
        session: AsyncSession,
        caller: Caller,
        reference: str,
        envelope: Envelope,
        *,
        claims: AppealClaims | RepairClaims,
        signed_at: datetime,
    ) -> tuple[BlacklistCase, Listing, str, str]:
        """The listed case of the calling vendor, and the key that signed `envelope`."""

        case = await case_by_reference(session, reference)
        if case.vendor_id is None or not caller.speaks_for_vendor(case.vendor_id):
            raise NotFound(f"no blacklist case {reference!r} addressed to you")
        vendor = await vendor_slug_of(session, case.vendor_id)
        if claims.case != case.reference or claims.vendor != vendor:
            raise InvalidInput(
                f"the statement must name case {case.reference} and vendor {vendor}",
                fields={"case": "mismatch", "vendor": "mismatch"},
            )
        listing = (
            await session.execute(select(Listing).where(Listing.case_id == case.id))
        ).scalar_one_or_none()
        if listing is None:
            raise Conflict(f"case {reference} has no listing")
        key_id = envelope.signatures[0].keyid if envelope.signatures else ""
        key = await usable_vendor_key(
            session, key_id, case.vendor_id, signed_at, self.ctx.clock.now()
        )
        try:
            verify_envelope(envelope, {key_id: key}, require={key_id})
        except AttestationError as exc:
            raise signature_error(exc) from exc
        return case, listing, vendor, key_id

    # --- appeal ------------------------------------------------------------------------

    async def appeal(self, caller: Caller, reference: str, envelope: Envelope) -> Appeal:
        """File the listed vendor's signed appeal and draw its panel at once."""
        claims = decode_predicate(open_statement(envelope, APPEAL_PREDICATE), AppealClaims)
        grounds = _text(claims.grounds, "grounds")
        digests = _digests(claims.evidence_digests, "evidence_digests")
        now = self.ctx.clock.now()
        signed_at = check_issued_at(claims.issued_at, now, self.ctx.settings)
        digest = envelope.digest()
        async with self.ctx.db.transaction() as session:
            case, listing, vendor, key_id = await self._signed(
                session, caller, reference, envelope, claims=claims, signed_at=signed_at
            )
            existing = await _appeal_of(session, listing)
            if existing is not None:
                if existing.envelope_digest == digest:
                    return existing
                raise Conflict(f"the listing of case {reference} was appealed already")
            return await self._file_appeal(
                session,
                case,
                listing,
                Appeal(
                    principal_id=caller.principal_id,
                    key_id=key_id,
                    envelope_digest=digest,
                    grounds=grounds,
                    evidence_digests=digests,
                ),
                leaf={"key_id": key_id, "envelope": envelope.to_dict()},
                vendor_slug=vendor,
                now=now,
            )

    async def relay_appeal(
        self, caller: Caller, reference: str, grounds: str, evidence_digests: Sequence[str]
    ) -> Appeal:
        """A mediator of the governing association relays a non-member subject's appeal;
        its panel is drawn at once from other associations, exactly as for a member. The
        log holds the grounds' SHA-256, not their text. The same relay again returns it."""
        text = _text(grounds, "grounds")
        digests = _digests(evidence_digests, "evidence_digests")
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            case, listing = await _relayed_case(session, caller, reference)
            existing = await _appeal_of(session, listing)
            if existing is not None:
                if existing.key_id is None and (existing.grounds, existing.evidence_digests) == (
                    text,
                    digests,
                ):
                    return existing
                raise Conflict(f"the listing of case {reference} was appealed already")
            return await self._file_appeal(
                session,
                case,
                listing,
                Appeal(
                    principal_id=caller.principal_id,
                    key_id=None,
                    envelope_digest=None,
                    grounds=text,
                    evidence_digests=digests,
                ),
                leaf={
                    "channel": "mediator",
                    "relayed_by": caller.principal_id,
                    "grounds_sha256": _sha256({"grounds": text}),
                    "evidence_digests": digests,
                },
                vendor_slug=None,
                now=now,
            )

    async def _file_appeal(
        self,
        session: AsyncSession,
        case: BlacklistCase,
        listing: Listing,
        appeal: Appeal,
        *,
        leaf: dict[str, Any],
        vendor_slug: str | None,
        now: datetime,
    ) -> Appeal:
        """Check the listing may still be appealed, log and store `appeal`, draw its panel."""
        reference = case.reference
        if listing.state is not ListingState.LISTED:
            raise Conflict(f"the listing of case {reference} has ended ({listing.state.value})")
        window_ends = listing.decided_at + timedelta(days=int(case.terms["appeal_window_days"]))
        if now >= window_ends:
            raise Conflict(
                f"the appeal window of case {reference} closed at {isoformat(window_ends)}"
            )
        step = await record_step(
            session,
            case,
            StepKind.APPEALED,
            {"listing": listing.id, **leaf},
            now,
            vendor_slug=vendor_slug,
            actor_principal_id=appeal.principal_id,
        )
        appeal.listing_id = listing.id
        appeal.case_id = case.id
        appeal.filed_at = now
        appeal.state = AppealState.FILED
        appeal.panel = []
        appeal.log_index = step.log_index
        session.add(appeal)
        await session.flush()
        step.ref = f"appeal:{appeal.id}"
        await self._draw(session, case, appeal, now)
        return appeal

    async def draw_panel(self, caller: Caller, appeal_id: int) -> Appeal:
        """Draw the panel of an appeal still waiting for one (the federation admins, when
        too few members were free at filing)."""
        if caller.role is not Role.FEDERATION_ADMIN:
            raise PermissionDenied("only federation admins draw appeal panels")
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            appeal = await session.get(Appeal, appeal_id)
            if appeal is None:
                raise NotFound(f"no appeal {appeal_id}")
            if appeal.state is not AppealState.FILED:
                raise Conflict(f"appeal {appeal_id} has its panel already ({appeal.state.value})")
            case = await session.get(BlacklistCase, appeal.case_id)
            assert case is not None  # noqa: S101 - foreign key
            drawn = await self._draw(session, case, appeal, now)
            if not drawn:
                raise Conflict(
                    "too few committee members of other associations are free to hear it"
                )
            return appeal

    async def appeal_of(self, appeal_id: int) -> Appeal:
        """An appeal with its panel, seed and tally (federation admins read these)."""
        async with self.ctx.db.read() as session:
            appeal = await session.get(Appeal, appeal_id)
            if appeal is None:
                raise NotFound(f"no appeal {appeal_id}")
            return appeal

    async def _draw(
        self, session: AsyncSession, case: BlacklistCase, appeal: Appeal, now: datetime
    ) -> bool:
        """Draw and log the panel; False (and the appeal stays filed) when too few are free."""
        members = (
            await session.execute(
                select(CommitteeMember)
                .join(Principal, Principal.id == CommitteeMember.principal_id)
                .where(CommitteeMember.left_at.is_(None), Principal.disabled_at.is_(None))
            )
        ).scalars()
        voted = set(
            (await session.execute(select(Vote.member_id).where(Vote.case_id == case.id))).scalars()
        )
        recused = set(
            (
                await session.execute(select(Recusal.member_id).where(Recusal.case_id == case.id))
            ).scalars()
        )
        subject = {"kind": case.subject_kind.value, "value": case.subject_value}
        affiliated = set()
        everyone: list[Candidate] = []
        for m in members:
            everyone.append(Candidate(m.id, m.principal_id, m.association_id))
            links = [*(m.affiliations or []), *(m.declared_conflicts or [])]
            if any({"kind": a.get("kind"), "value": a.get("value")} == subject for a in links):
                affiliated.add(m.id)
        candidates = eligible_candidates(
            everyone,
            governing_association_id=case.association_id,
            excluded_member_ids=voted | recused | affiliated,
        )
        size = max(MIN_PANEL_SIZE, self.ctx.settings.blacklist_panel_size)
        if len({c.member_id for c in candidates}) < size:
            return False
        log_size = appeal.log_index + 1
        seed = panel_seed(
            appeal_id=appeal.id,
            case_reference=case.reference,
            log_size=log_size,
            log_root=await log_root(session, log_size),
        )
        panel = draw_panel(seed, candidates, size)
        appeal.panel_seed = seed
        appeal.panel = [c.member_id for c in panel]
        appeal.panel_drawn_at = now
        appeal.state = AppealState.HEARING
        appeal.decision_due_at = now + timedelta(days=int(case.terms["appeal_decision_days"]))
        await record_step(
            session,
            case,
            StepKind.PANEL_DRAWN,
            {
                "appeal": appeal.id,
                "seed": seed,
                "seed_inputs": {"log_size": log_size, "case": case.reference},
                "candidates": [c.to_json() for c in sorted(candidates, key=lambda c: c.member_id)],
                "size": size,
                "panel": appeal.panel,
                "decision_due_at": isoformat(appeal.decision_due_at),
            },
            now,
            vendor_slug=await vendor_slug_of(session, case.vendor_id),
            ref=f"appeal:{appeal.id}",
        )
        return True

    # --- credit repair -----------------------------------------------------------------

    async def repair(self, caller: Caller, reference: str, envelope: Envelope) -> Repair:
        """The listed vendor's signed credit-repair application, after the tier's minimum
        period; the governing committee votes on it. Free of charge."""
        claims = decode_predicate(open_statement(envelope, REPAIR_PREDICATE), RepairClaims)
        commitment = _text(claims.commitment, "commitment")
        changes = _text(claims.changes, "changes")
        digests = _digests(claims.remediation_digests, "remediation_digests")
        now = self.ctx.clock.now()
        signed_at = check_issued_at(claims.issued_at, now, self.ctx.settings)
        digest = envelope.digest()
        async with self.ctx.db.transaction() as session:
            case, listing, vendor, key_id = await self._signed(
                session, caller, reference, envelope, claims=claims, signed_at=signed_at
            )
            same = (
                await session.execute(select(Repair).where(Repair.envelope_digest == digest))
            ).scalar_one_or_none()
            if same is not None:
                return same
            return await _apply_repair(
                session,
                case,
                listing,
                Repair(
                    principal_id=caller.principal_id,
                    key_id=key_id,
                    envelope_digest=digest,
                    commitment=commitment,
                    changes=changes,
                    remediation_digests=digests,
                ),
                leaf={"key_id": key_id, "envelope": envelope.to_dict()},
                vendor_slug=vendor,
                now=now,
            )

    async def relay_repair(
        self,
        caller: Caller,
        reference: str,
        *,
        commitment: str,
        changes: str,
        remediation_digests: Sequence[str],
    ) -> Repair:
        """A mediator of the governing association relays a non-member subject's
        credit-repair application; the governing committee votes on it as for a member.
        The log holds the texts' SHA-256. The same relay again returns the application."""
        promised = _text(commitment, "commitment")
        changed = _text(changes, "changes")
        digests = _digests(remediation_digests, "remediation_digests")
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            case, listing = await _relayed_case(session, caller, reference)
            pending = (
                await session.execute(
                    select(Repair).where(
                        Repair.listing_id == listing.id, Repair.state == RepairState.APPLIED
                    )
                )
            ).scalar_one_or_none()
            if pending is not None and pending.key_id is None:
                same = (pending.commitment, pending.changes, pending.remediation_digests)
                if same == (promised, changed, digests):
                    return pending
            return await _apply_repair(
                session,
                case,
                listing,
                Repair(
                    principal_id=caller.principal_id,
                    key_id=None,
                    envelope_digest=None,
                    commitment=promised,
                    changes=changed,
                    remediation_digests=digests,
                ),
                leaf={
                    "channel": "mediator",
                    "relayed_by": caller.principal_id,
                    "application_sha256": _sha256({"commitment": promised, "changes": changed}),
                    "remediation_digests": digests,
                },
                vendor_slug=None,
                now=now,
            )

    # --- expiry and finality -----------------------------------------------------------

    async def expire_listings(self) -> int:
        """End every listing whose publication period is over (the scheduler's job)."""
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            rows = (
                await session.execute(
                    select(Listing, BlacklistCase)
                    .join(BlacklistCase, BlacklistCase.id == Listing.case_id)
                    .where(Listing.state == ListingState.LISTED, Listing.published_until <= now)
                    .order_by(Listing.id)
                )
            ).all()
            for listing, case in rows:
                await end_listing(
                    session,
                    listing,
                    case,
                    state=ListingState.EXPIRED,
                    end_ref="expiry",
                    now=now,
                    step_kind=StepKind.EXPIRED,
                )
            return len(rows)

    async def finalise_listings(self) -> int:
        """Revoke the certificates of serious listings that can no longer be appealed (the
        window passed unappealed). Each listing becomes final once (`final_at`): a second
        run publishes nothing."""
        now = self.ctx.clock.now()
        published = 0
        async with self.ctx.db.transaction() as session:
            rows = (
                await session.execute(
                    select(Listing, BlacklistCase)
                    .join(BlacklistCase, BlacklistCase.id == Listing.case_id)
                    .outerjoin(Appeal, Appeal.listing_id == Listing.id)
                    .where(
                        Listing.state == ListingState.LISTED,
                        Listing.tier == Tier.SERIOUS,
                        Listing.vendor_id.is_not(None),
                        Listing.final_at.is_(None),
                        Appeal.id.is_(None),
                    )
                )
            ).all()
            for listing, case in rows:
                ends = listing.decided_at + timedelta(days=int(case.terms["appeal_window_days"]))
                event = became_final(listing, case, now) if now >= ends else None
                if event is not None:
                    listing.final_at = now
                    publish(session, event)
                    published += 1
        return published


async def _appeal_of(session: AsyncSession, listing: Listing) -> Appeal | None:
    return (
        await session.execute(select(Appeal).where(Appeal.listing_id == listing.id))
    ).scalar_one_or_none()


async def _relayed_case(
    session: AsyncSession, caller: Caller, reference: str
) -> tuple[BlacklistCase, Listing]:
    """The listed case of a non-member subject that `caller`, a mediator of the governing
    association, relays for; to anyone else it does not exist."""
    case = await case_by_reference(session, reference)
    if not (caller.role is Role.MEDIATOR and caller.association_id == case.association_id):
        raise NotFound(f"no blacklist case {reference!r} for your association")
    if case.vendor_id is not None:
        raise Conflict(
            "a member vendor appeals or applies for repair itself, with a signed envelope"
        )
    listing = (
        await session.execute(select(Listing).where(Listing.case_id == case.id))
    ).scalar_one_or_none()
    if listing is None:
        raise Conflict(f"case {reference} has no listing")
    return case, listing


async def _apply_repair(
    session: AsyncSession,
    case: BlacklistCase,
    listing: Listing,
    repair: Repair,
    *,
    leaf: dict[str, Any],
    vendor_slug: str | None,
    now: datetime,
) -> Repair:
    """Check the listing may be repaired now, then log and store `repair` (decision due in
    the case's repair period)."""
    reference = case.reference
    if listing.state is not ListingState.LISTED:
        raise Conflict(f"the listing of case {reference} has ended ({listing.state.value})")
    pending = (
        await session.execute(
            select(Repair.id).where(
                Repair.listing_id == listing.id, Repair.state == RepairState.APPLIED
            )
        )
    ).first()
    if pending is not None:
        raise Conflict("a repair application for this listing is being decided")
    opens = repair_open_from(listing.tier, listing.published_from)
    if now < opens:
        months = TIER_POLICIES[listing.tier].repair_after_months
        raise Conflict(
            f"a {listing.tier.value} listing may be repaired {months} months after "
            f"publication, from {isoformat(opens)}"
        )
    due = window_end(
        now,
        int(case.terms["repair_decision_days"]),
        DayCounting(case.terms["day_counting"]),
    )
    step = await record_step(
        session,
        case,
        StepKind.REPAIR_APPLIED,
        {"listing": listing.id, **leaf, "decision_due_at": isoformat(due), "fee": "none"},
        now,
        vendor_slug=vendor_slug,
        actor_principal_id=repair.principal_id,
    )
    repair.listing_id = listing.id
    repair.case_id = case.id
    repair.applied_at = now
    repair.state = RepairState.APPLIED
    repair.decision_due_at = due
    repair.log_index = step.log_index
    session.add(repair)
    await session.flush()
    step.ref = f"repair:{repair.id}"
    publish(
        session,
        RepairApplied(
            case.id,
            case.association_id,
            listing.tier,
            now,
            repair_id=repair.id,
            listing_id=listing.id,
        ),
    )
    return repair


def _sha256(value: dict[str, Any]) -> str:
    """SHA-256 of the RFC 8785 form: what the log keeps of a relayed text."""
    return hashlib.sha256(canonicalize(value)).hexdigest()
