"""Recording a case step: its row, its transparency-log leaf and its outbox message, in
the caller's transaction, so a step exists everywhere or nowhere."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from registry.blacklist.models import BlacklistCase, CaseStep
from registry.blacklist.states import StepKind
from registry.kernel.clock import isoformat
from registry.notifications.services import enqueue_association_event, enqueue_event
from registry.transparency.entries import EntryType
from registry.transparency.services import LogAppender, PendingLeaf

STEP_ENTRY_TYPES: Final[dict[StepKind, EntryType]] = {
    StepKind.OPENED: EntryType.BLACKLIST_CASE_OPENED,
    StepKind.NOTIFIED: EntryType.BLACKLIST_CASE_NOTIFIED,
    StepKind.ANSWERED: EntryType.BLACKLIST_CASE_ANSWERED,
    StepKind.ANSWER_WINDOW_CLOSED: EntryType.BLACKLIST_ANSWER_WINDOW_CLOSED,
    StepKind.VOTE: EntryType.BLACKLIST_VOTE,
    StepKind.RECUSAL: EntryType.BLACKLIST_RECUSAL,
    StepKind.DEADLINE_EXTENDED: EntryType.BLACKLIST_DEADLINE_EXTENDED,
    StepKind.DECIDED: EntryType.BLACKLIST_DECISION,
    StepKind.LAPSED: EntryType.BLACKLIST_CASE_LAPSED,
    StepKind.LISTED: EntryType.BLACKLIST_LISTED,
    StepKind.APPEALED: EntryType.BLACKLIST_APPEALED,
    StepKind.PANEL_DRAWN: EntryType.BLACKLIST_PANEL_DRAWN,
    StepKind.APPEAL_DECIDED: EntryType.BLACKLIST_APPEAL_DECIDED,
    StepKind.REPAIR_APPLIED: EntryType.BLACKLIST_REPAIR_APPLIED,
    StepKind.REPAIR_DECIDED: EntryType.BLACKLIST_REPAIR_DECIDED,
    StepKind.EXPIRED: EntryType.BLACKLIST_LISTING_EXPIRED,
    StepKind.RETRACTED: EntryType.BLACKLIST_LISTING_RETRACTED,
}
"""The log entry type of each step (every step kind has one; a unit test holds them)."""

WEBHOOK_EVENT_PREFIX: Final = "blacklist."


async def record_step(
    session: AsyncSession,
    case: BlacklistCase,
    kind: StepKind,
    body: dict[str, Any],
    now: datetime,
    *,
    vendor_slug: str | None = None,
    actor_principal_id: int | None = None,
    ref: str | None = None,
    appender: LogAppender | None = None,
) -> CaseStep:
    """Append the step's leaf, write its row and queue its webhook (member vendor) or
    mediators' feed message (non-member subject). `body` must hold no personal data: it
    is public in the log."""
    leaf_body = {
        "case": case.reference,
        "step": kind.value,
        "subject": {"kind": case.subject_kind.value, "value": case.subject_value},
        **body,
    }
    log_index = await (appender or LogAppender(session, now)).append(
        PendingLeaf(
            STEP_ENTRY_TYPES[kind],
            leaf_body,
            vendor_id=case.vendor_id,
            vendor_slug=vendor_slug,
        )
    )
    step = CaseStep(
        case_id=case.id,
        kind=kind,
        at=now,
        actor_principal_id=actor_principal_id,
        ref=ref,
        body=leaf_body,
        log_index=log_index,
    )
    session.add(step)
    data = {
        "case": case.reference,
        "step": kind.value,
        "state": case.state.value,
        "at": isoformat(now),
        "log_index": log_index,
    }
    event = f"{WEBHOOK_EVENT_PREFIX}{kind.value}"
    if case.vendor_id is not None:
        await enqueue_event(session, vendor_id=case.vendor_id, event=event, data=data, now=now)
    else:
        await enqueue_association_event(
            session, association_id=case.association_id, event=event, data=data, now=now
        )
    return step
