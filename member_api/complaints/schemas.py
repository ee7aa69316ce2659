"""Complaint shapes on the wire; contact data never appears here except in `ContactOut`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec

from member_api.schemas import PageOut
from registry.complaints.clocks import SlaPolicy
from registry.complaints.figures import ComplaintFigures
from registry.complaints.filing import ComplaintSubmission
from registry.complaints.mediation import MediatorComplaint
from registry.complaints.models import Complaint, ComplaintEvent, MediationOutcome
from registry.complaints.pii import Contact


class ComplaintIn(msgspec.Struct, forbid_unknown_fields=True):
    """A filing. Everything is checked by the service, which names bad fields in zh and en.

    Name a member vendor by `vendor` (its slug, from /api/v1/vendors?q=), or an
    unregistered subject by `subject_kind` (domain, app_id, credit_code) and `subject_value`.
    """

    vendor: str = ""
    subject_kind: str = ""
    subject_value: str = ""
    product: str = ""
    category: str = ""
    description: str = ""
    desired_remedy: str = ""
    region: str = ""
    occurred_on: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    contact_email: str = ""
    consent_to_share: bool = False

    def submission(self, language: str) -> ComplaintSubmission:
        """The service's input."""
        return ComplaintSubmission(**msgspec.structs.asdict(self), language=language)


class ComplaintFiledOut(msgspec.Struct):
    """The tracking code and the secret (shown once)."""

    tracking_code: str
    secret: str
    status: str
    first_response_due_at: datetime | None
    message: str


class EventOut(msgspec.Struct):
    """One entry of the thread."""

    at: datetime
    kind: str
    actor: str
    from_status: str | None
    to_status: str | None
    body: str | None


class ComplaintOut(msgspec.Struct):
    """A complaint with its thread, as its consumer, vendor or mediator sees it."""

    tracking_code: str
    status: str
    subject_kind: str
    subject: str
    vendor: str | None
    product: str
    category: str
    description: str
    desired_remedy: str
    region: str
    occurred_on: date
    filed_at: datetime
    consent_to_share: bool
    contact_on_file: bool
    first_response_due_at: datetime | None
    resolution_due_at: datetime | None
    first_response_at: datetime | None
    breached_clock: str | None
    breached_at: datetime | None
    proposal: str | None
    vendor_conceded: bool
    mediation_outcome: str | None
    substantiated: bool
    closed_at: datetime | None
    rating: int | None
    rating_comment: str | None
    duplicates_merged: int
    thread: list[EventOut]


class MediatorComplaintOut(ComplaintOut):
    """A complaint as a mediator sees it: also the duplicate links no filer sees."""

    duplicate_of: str | None
    """The earlier complaint this filing repeats (same contact, subject and category),
    until a mediator joins them (POST .../join)."""
    duplicates: list[str]
    """Later filings that repeat this complaint and are not joined yet."""


class ComplaintSummaryOut(msgspec.Struct):
    """A line of an inbox or mediation queue."""

    tracking_code: str
    status: str
    vendor: str | None
    category: str
    product: str
    region: str
    filed_at: datetime
    sla_clock: str | None
    sla_due_at: datetime | None
    breached_clock: str | None


class ComplaintPage(msgspec.Struct):
    """A page of complaints."""

    items: list[ComplaintSummaryOut]
    page: PageOut


class ContactOut(msgspec.Struct):
    """The consumer's contact, opened for the vendor (after consent) or a mediator."""

    name: str
    phone: str | None
    email: str | None


class MessageIn(msgspec.Struct, forbid_unknown_fields=True):
    """A message on the thread."""

    body: str = ""


class RejectIn(msgspec.Struct, forbid_unknown_fields=True):
    """Why the consumer turns the proposal down (sent to the mediators)."""

    reason: str = ""


class RatingIn(msgspec.Struct, forbid_unknown_fields=True):
    """The satisfaction survey: 1 (very unhappy) to 5 (very happy)."""

    score: int = 0
    comment: str = ""


class ProposalIn(msgspec.Struct, forbid_unknown_fields=True):
    """A vendor's proposed remedy; `concede` admits the complaint is justified."""

    proposal: str = ""
    concede: bool = False


class MediationDecisionIn(msgspec.Struct, forbid_unknown_fields=True):
    """A mediator's finding."""

    outcome: MediationOutcome
    note: str = ""


class LinkIn(msgspec.Struct, forbid_unknown_fields=True):
    """The member vendor (slug) an unregistered subject's complaint turned out to be about."""

    vendor: str


class NoteIn(msgspec.Struct, forbid_unknown_fields=True):
    """An optional note."""

    note: str = ""


class FiguresOut(msgspec.Struct):
    """Public figures over the last `window_days`; null means fewer than `min_count`."""

    vendor: str
    window_days: int
    min_count: int
    received: int | None
    answered_on_time_share: float | None
    median_first_response_hours: float | None
    resolved_share: float | None
    substantiated: int | None
    satisfaction_rate: float | None
    ratings: int | None


MAX_CLOCK_HOURS = 24 * 366
"""No complaint clock runs longer than a year; also keeps timedelta far from overflow."""
ClockHours = Annotated[int, msgspec.Meta(ge=1, le=MAX_CLOCK_HOURS)]


class SlaPolicyIn(msgspec.Struct, forbid_unknown_fields=True):
    """An association's complaint clocks, in hours (first response, then resolution)."""

    first_response_hours: ClockHours
    resolution_hours: ClockHours


class SlaPolicyOut(msgspec.Struct):
    """An association's complaint clocks; `custom` is false for the registry defaults."""

    association: str
    first_response_hours: float
    resolution_hours: float
    custom: bool


def complaint_out(complaint: Complaint) -> ComplaintOut:
    """Shape a complaint and its thread (never the contact)."""
    return ComplaintOut(
        tracking_code=complaint.tracking_code,
        status=complaint.status.value,
        subject_kind=complaint.subject_kind.value,
        subject=complaint.subject_value,
        vendor=complaint.vendor.slug if complaint.vendor else None,
        product=complaint.product,
        category=complaint.category.value,
        description=complaint.description,
        desired_remedy=complaint.desired_remedy,
        region=complaint.region,
        occurred_on=complaint.occurred_on,
        filed_at=complaint.created_at,
        consent_to_share=complaint.consent_to_share,
        contact_on_file=complaint.contact_sealed is not None,
        first_response_due_at=complaint.first_response_due_at,
        resolution_due_at=complaint.resolution_due_at,
        first_response_at=complaint.first_response_at,
        breached_clock=complaint.breached_clock.value if complaint.breached_clock else None,
        breached_at=complaint.breached_at,
        proposal=complaint.proposal,
        vendor_conceded=complaint.vendor_conceded,
        mediation_outcome=(
            complaint.mediation_outcome.value if complaint.mediation_outcome else None
        ),
        substantiated=complaint.substantiated,
        closed_at=complaint.closed_at,
        rating=complaint.rating,
        rating_comment=complaint.rating_comment,
        duplicates_merged=complaint.duplicates_merged,
        thread=[event_out(e) for e in complaint.events],
    )


def mediator_complaint_out(view: MediatorComplaint) -> MediatorComplaintOut:
    """Shape a complaint for its mediator, with its duplicate links."""
    return MediatorComplaintOut(
        **msgspec.structs.asdict(complaint_out(view.complaint)),
        duplicate_of=view.duplicate_of,
        duplicates=view.duplicates,
    )


def event_out(event: ComplaintEvent) -> EventOut:
    """Shape a thread entry."""
    return EventOut(
        at=event.created_at,
        kind=event.kind.value,
        actor=event.actor.value,
        from_status=event.from_status.value if event.from_status else None,
        to_status=event.to_status.value if event.to_status else None,
        body=event.body,
    )


def summary_out(complaint: Complaint) -> ComplaintSummaryOut:
    """Shape a list line."""
    return ComplaintSummaryOut(
        tracking_code=complaint.tracking_code,
        status=complaint.status.value,
        vendor=complaint.vendor.slug if complaint.vendor else None,
        category=complaint.category.value,
        product=complaint.product,
        region=complaint.region,
        filed_at=complaint.created_at,
        sla_clock=complaint.sla_clock.value if complaint.sla_clock else None,
        sla_due_at=complaint.sla_due_at,
        breached_clock=complaint.breached_clock.value if complaint.breached_clock else None,
    )


def contact_out(contact: Contact) -> ContactOut:
    """Shape an opened contact."""
    return ContactOut(name=contact.name, phone=contact.phone, email=contact.email)


def figures_out(figures: ComplaintFigures) -> FiguresOut:
    """Shape the public figures."""
    median = figures.median_first_response
    return FiguresOut(
        vendor=figures.vendor_slug,
        window_days=figures.window_days,
        min_count=figures.min_count,
        received=figures.received,
        answered_on_time_share=figures.answered_on_time_share,
        median_first_response_hours=(
            round(median.total_seconds() / 3600, 2) if median is not None else None
        ),
        resolved_share=figures.resolved_share,
        substantiated=figures.substantiated,
        satisfaction_rate=figures.satisfaction_rate,
        ratings=figures.ratings,
    )


def sla_policy_out(policy: SlaPolicy) -> SlaPolicyOut:
    """Shape an association's clocks."""
    return SlaPolicyOut(
        association=policy.association,
        first_response_hours=policy.first_response.total_seconds() / 3600,
        resolution_hours=policy.resolution.total_seconds() / 3600,
        custom=policy.custom,
    )
