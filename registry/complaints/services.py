"""Consumer complaints: one service per actor, grouped for the composition root.

Consumers have no account: a complaint's tracking code plus the secret shown once at
filing authenticate them (only the secret's SHA-256 is stored, like API tokens).
Vendors see only their own complaints, mediators only their association's escalations,
everyone else only the aggregate figures. The contact is sealed (see `pii`) and opened
only for the vendor concerned after consent and for mediators, each opening recorded on
the thread. Webhooks carry the tracking code and the event, never contact data.

Where each rule lives: `consumers` (filing, the consumer's thread, the survey),
`vendors` (inbox, answers, proposals), `mediation` (escalations, triage, duplicates,
findings), `clocks` (SLA policies and the breach scan), `figures` (public aggregates);
`access` says who reaches which complaint and in which states they may act on it.
"""

from __future__ import annotations

from registry.complaints.clocks import ComplaintClockService
from registry.complaints.consumers import ConsumerComplaintService
from registry.complaints.figures import ComplaintFiguresService
from registry.complaints.mediation import MediationService
from registry.complaints.vendors import VendorComplaintService
from registry.context import RegistryContext


class ComplaintServices:
    """The complaint services, one per actor, sharing one context:
    `services.complaints.consumers.file(...)`, `services.complaints.mediators.decide(...)`."""

    def __init__(self, ctx: RegistryContext) -> None:
        self.consumers = ConsumerComplaintService(ctx)
        self.vendors = VendorComplaintService(ctx)
        self.mediators = MediationService(ctx)
        self.clocks = ComplaintClockService(ctx)
        self.figures = ComplaintFiguresService(ctx)
