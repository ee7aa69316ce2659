"""/api/v1/blacklist: the committee's queue, signed votes and recusals; the deadline's one
extension; the vendor's appeal and credit repair; appointing members; appeal panels."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody, PathParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_409_CONFLICT

from attestations.errors import AttestationError
from attestations.keys import PublicKey
from member_api.contract import problems
from member_api.deps import CallerDep, ServicesDep
from member_api.schemas import EnvelopeIn, strict_json_body
from registry.accounts.access import opt, roles
from registry.blacklist.committee import MAX_ROW_ID, QueueItem
from registry.blacklist.models import Appeal, BlacklistCase, CommitteeMember, Recusal, Repair, Vote
from registry.blacklist.states import RecusalReason
from registry.errors import InvalidInput
from registry.kernel.caller import Role

ADMINS = roles(Role.ASSOCIATION_ADMIN, Role.FEDERATION_ADMIN)
MEMBERS = roles(Role.COMMITTEE_MEMBER)
MEDIATORS = roles(Role.MEDIATOR)
VENDORS = roles(Role.VENDOR_ADMIN)
FEDERATION = roles(Role.FEDERATION_ADMIN)
ED25519_PUBLIC_KEY_BYTES = 32
AppealId = Annotated[int, PathParameter(title="appeal id", ge=1, le=MAX_ROW_ID)]


class QueueItemOut(msgspec.Struct):
    """A ballot waiting for the member's vote."""

    case: str
    ballot: str
    """`case:<id>`, `appeal:<id>` or `repair:<id>`: what the signed vote must name."""
    kind: str
    subject_kind: str
    subject_value: str
    evidence_digest: str
    """The evidence digest the signed vote must name."""
    tier_proposed: str
    due_at: datetime | None


class VoteOut(msgspec.Struct):
    """A recorded vote; the envelope itself is in its log leaf."""

    id: int
    ballot: str
    member_id: int
    key_id: str
    choice: str
    tier: str | None
    reason: str
    evidence_digest_seen: str
    envelope_digest: str
    cast_at: datetime
    log_index: int


class RecusalIn(msgspec.Struct, forbid_unknown_fields=True):
    """Standing aside from a ballot."""

    ballot: str
    reason: str
    """`declared_conflict`, `voluntary` or `affiliated`."""
    detail: str | None = None


class RecusalOut(msgspec.Struct):
    """A recorded recusal."""

    id: int
    ballot: str
    member_id: int
    reason: str
    at: datetime
    log_index: int


class ExtensionIn(msgspec.Struct, forbid_unknown_fields=True):
    """Why the committee needs the one extension."""

    reason: str


class DeadlineOut(msgspec.Struct):
    """A case's decision deadline after the extension."""

    case: str
    decision_due_at: datetime | None
    extended_at: datetime | None
    extension_reason: str | None


class AppealOut(msgspec.Struct):
    """An appeal, its panel and the seed the panel was drawn from."""

    id: int
    listing_id: int
    state: str
    filed_at: datetime
    panel_seed: str | None
    panel: list[int]
    """Committee member ids, in draw order."""
    panel_drawn_at: datetime | None
    decision_due_at: datetime | None
    decided_at: datetime | None
    tally: dict[str, Any] | None
    log_index: int


class RepairOut(msgspec.Struct):
    """A credit-repair application (free of charge) and its decision."""

    id: int
    listing_id: int
    state: str
    applied_at: datetime
    decision_due_at: datetime
    decided_at: datetime | None
    tally: dict[str, Any] | None
    log_index: int


class RelayedAppealIn(msgspec.Struct, forbid_unknown_fields=True):
    """A non-member subject's appeal, relayed by a mediator of the governing association."""

    grounds: str
    evidence_digests: list[str] = []


class RelayedRepairIn(msgspec.Struct, forbid_unknown_fields=True):
    """A non-member subject's credit-repair application, relayed by a mediator."""

    commitment: str
    changes: str
    remediation_digests: list[str] = []


class AppointIn(msgspec.Struct, forbid_unknown_fields=True):
    """A new committee member and the Ed25519 public key (base64) their votes carry."""

    display_name: str
    public_key: str
    affiliations: list[dict[str, str]] = []
    """Subjects the member is affiliated with (`{"kind", "value"}`): recused automatically."""


class MemberOut(msgspec.Struct):
    """A committee member."""

    id: int
    principal_id: int
    key_id: str
    joined_at: datetime
    log_index: int | None


def _vote_out(row: Vote) -> VoteOut:
    return VoteOut(
        id=row.id,
        ballot=row.ballot,
        member_id=row.member_id,
        key_id=row.key_id,
        choice=row.choice.value,
        tier=row.tier.value if row.tier else None,
        reason=row.reason,
        evidence_digest_seen=row.evidence_digest_seen,
        envelope_digest=row.envelope_digest,
        cast_at=row.cast_at,
        log_index=row.log_index,
    )


def _appeal_out(row: Appeal) -> AppealOut:
    return AppealOut(
        id=row.id,
        listing_id=row.listing_id,
        state=row.state.value,
        filed_at=row.filed_at,
        panel_seed=row.panel_seed,
        panel=list(row.panel or []),
        panel_drawn_at=row.panel_drawn_at,
        decision_due_at=row.decision_due_at,
        decided_at=row.decided_at,
        tally=row.tally,
        log_index=row.log_index,
    )


def _repair_out(row: Repair) -> RepairOut:
    return RepairOut(
        id=row.id,
        listing_id=row.listing_id,
        state=row.state.value,
        applied_at=row.applied_at,
        decision_due_at=row.decision_due_at,
        decided_at=row.decided_at,
        tally=row.tally,
        log_index=row.log_index,
    )


def _queue_out(item: QueueItem) -> QueueItemOut:
    return QueueItemOut(
        case=item.case,
        ballot=item.ballot,
        kind=item.kind.value,
        subject_kind=item.subject_kind,
        subject_value=item.subject_value,
        evidence_digest=item.evidence_digest,
        tier_proposed=item.tier_proposed.value,
        due_at=item.due_at,
    )


def _recusal_out(row: Recusal) -> RecusalOut:
    return RecusalOut(row.id, row.ballot, row.member_id, row.reason.value, row.at, row.log_index)


def _deadline_out(case: BlacklistCase) -> DeadlineOut:
    return DeadlineOut(
        case.reference, case.decision_due_at, case.extended_at, case.extension_reason
    )


def _member_out(row: CommitteeMember) -> MemberOut:
    return MemberOut(row.id, row.principal_id, row.key_id, row.joined_at, row.log_index)


class BlacklistCommitteeQueueController(Controller):
    """What the calling committee member has to vote on."""

    path = "/api/v1/blacklist/committee"
    tags = ["blacklist"]

    @get("/queue", opt=opt(MEMBERS))
    async def queue(self, services: ServicesDep, caller: CallerDep) -> list[QueueItemOut]:
        """Ballots the member may still vote on, appeals it was drawn for included."""
        return [_queue_out(i) for i in await services.blacklist_committee.queue(caller)]


class BlacklistBallotController(Controller):
    """Votes, recusals and the deadline of one case; its appeal and repair."""

    path = "/api/v1/blacklist/cases/{reference:str}"
    tags = ["blacklist"]

    @post(
        "/votes",
        opt=opt(MEMBERS),
        status_code=HTTP_201_CREATED,
        responses=problems(HTTP_409_CONFLICT),
        before_request=strict_json_body,
    )
    async def vote(
        self,
        services: ServicesDep,
        caller: CallerDep,
        reference: FromPath[str],
        data: JSONBody[EnvelopeIn],
    ) -> VoteOut:
        """Cast a vote signed with the member's registered key; a vote is final."""
        row = await services.blacklist_committee.vote(caller, reference, data.to_envelope())
        return _vote_out(row)

    @post(
        "/recusals",
        opt=opt(MEMBERS),
        status_code=HTTP_201_CREATED,
        responses=problems(HTTP_409_CONFLICT),
    )
    async def recuse(
        self,
        services: ServicesDep,
        caller: CallerDep,
        reference: FromPath[str],
        data: JSONBody[RecusalIn],
    ) -> RecusalOut:
        """Stand aside from a ballot for a declared conflict or by choice, logged."""
        try:
            reason = RecusalReason(data.reason)
        except ValueError:
            raise InvalidInput(
                "reason is declared_conflict, voluntary or affiliated", fields={"reason": "unknown"}
            ) from None
        row = await services.blacklist_committee.recuse(
            caller, reference, data.ballot, reason, data.detail
        )
        return _recusal_out(row)

    @post(
        "/extension",
        opt=opt(ADMINS),
        status_code=HTTP_200_OK,
        responses=problems(HTTP_409_CONFLICT),
    )
    async def extend(
        self,
        services: ServicesDep,
        caller: CallerDep,
        reference: FromPath[str],
        data: JSONBody[ExtensionIn],
    ) -> DeadlineOut:
        """Extend the decision deadline once, with a reason."""
        case = await services.blacklist_committee.extend(caller, reference, data.reason)
        return _deadline_out(case)

    @post(
        "/appeal",
        opt=opt(VENDORS),
        status_code=HTTP_201_CREATED,
        responses=problems(HTTP_409_CONFLICT),
        before_request=strict_json_body,
    )
    async def appeal(
        self,
        services: ServicesDep,
        caller: CallerDep,
        reference: FromPath[str],
        data: JSONBody[EnvelopeIn],
    ) -> AppealOut:
        """Appeal the listing to a panel of other associations, with a signed statement."""
        row = await services.blacklist_remedies.appeal(caller, reference, data.to_envelope())
        return _appeal_out(row)

    @post(
        "/repair",
        opt=opt(VENDORS),
        status_code=HTTP_201_CREATED,
        responses=problems(HTTP_409_CONFLICT),
        before_request=strict_json_body,
    )
    async def repair(
        self,
        services: ServicesDep,
        caller: CallerDep,
        reference: FromPath[str],
        data: JSONBody[EnvelopeIn],
    ) -> RepairOut:
        """Apply for credit repair (free) with a signed commitment and remediation evidence."""
        row = await services.blacklist_remedies.repair(caller, reference, data.to_envelope())
        return _repair_out(row)

    @post(
        "/relayed-appeal",
        opt=opt(MEDIATORS),
        status_code=HTTP_201_CREATED,
        responses=problems(HTTP_409_CONFLICT),
    )
    async def relayed_appeal(
        self,
        services: ServicesDep,
        caller: CallerDep,
        reference: FromPath[str],
        data: JSONBody[RelayedAppealIn],
    ) -> AppealOut:
        """Relay a non-member subject's appeal as a mediator of the governing association.

        A panel of other associations is drawn at once, as for a member's appeal."""
        row = await services.blacklist_remedies.relay_appeal(
            caller, reference, data.grounds, data.evidence_digests
        )
        return _appeal_out(row)

    @post(
        "/relayed-repair",
        opt=opt(MEDIATORS),
        status_code=HTTP_201_CREATED,
        responses=problems(HTTP_409_CONFLICT),
    )
    async def relayed_repair(
        self,
        services: ServicesDep,
        caller: CallerDep,
        reference: FromPath[str],
        data: JSONBody[RelayedRepairIn],
    ) -> RepairOut:
        """Relay a non-member subject's credit-repair application (free).

        As a mediator of the governing association; its committee votes on it."""
        row = await services.blacklist_remedies.relay_repair(
            caller,
            reference,
            commitment=data.commitment,
            changes=data.changes,
            remediation_digests=data.remediation_digests,
        )
        return _repair_out(row)


class BlacklistCommitteeMembersController(Controller):
    """Appointing an association's committee members."""

    path = "/api/v1/blacklist/associations/{association:str}/committee"
    tags = ["blacklist"]

    @post("/", opt=opt(ADMINS), status_code=HTTP_201_CREATED, responses=problems(HTTP_409_CONFLICT))
    async def appoint(
        self,
        services: ServicesDep,
        caller: CallerDep,
        association: FromPath[str],
        data: JSONBody[AppointIn],
    ) -> MemberOut:
        """Appoint a committee member with the Ed25519 key their votes will carry."""
        try:
            key = PublicKey.from_base64(data.public_key)
        except AttestationError as exc:
            raise InvalidInput(exc.reason, fields={"public_key": exc.reason}) from exc
        if len(key.raw) != ED25519_PUBLIC_KEY_BYTES:
            raise InvalidInput(
                "public_key is a raw Ed25519 public key: 32 bytes in base64",
                fields={"public_key": "not 32 bytes"},
            )
        row = await services.blacklist_committee.appoint(
            caller,
            association,
            display_name=data.display_name,
            public_key=key,
            affiliations=data.affiliations,
        )
        return _member_out(row)


class BlacklistAppealPanelController(Controller):
    """Appeal panels, for the federation's admins."""

    path = "/api/v1/blacklist/appeals/{appeal_id:int}"
    tags = ["blacklist"]

    @get("/", opt=opt(FEDERATION))
    async def appeal(self, services: ServicesDep, appeal_id: AppealId) -> AppealOut:
        """An appeal with its panel, the logged seed it was drawn from, and its tally."""
        return _appeal_out(await services.blacklist_remedies.appeal_of(appeal_id))

    @post(
        "/panel",
        opt=opt(FEDERATION),
        status_code=HTTP_200_OK,
        responses=problems(HTTP_409_CONFLICT),
    )
    async def draw(
        self, services: ServicesDep, caller: CallerDep, appeal_id: AppealId
    ) -> AppealOut:
        """Draw the panel of an appeal that found too few free members when filed."""
        return _appeal_out(await services.blacklist_remedies.draw_panel(caller, appeal_id))
