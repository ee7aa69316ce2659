"""What happens to a vendor's membership, published for other aggregates.

Published by `registry.membership`; subscribers are wired in `registry.services` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from registry.events import DomainEvent

__all__ = ["VendorAdmitted", "VendorDomainVerified"]


@dataclass(frozen=True, slots=True)
class VendorAdmitted(DomainEvent):
    """An association approved a vendor's application: the vendor is now a member."""

    vendor_id: int
    association_id: int
    application_id: int
    at: datetime


@dataclass(frozen=True, slots=True)
class VendorDomainVerified(DomainEvent):
    """A vendor proved control of a domain (on its own or as part of admission)."""

    vendor_id: int
    domain: str
    member: bool
    """The vendor was an active member when it proved it (an applicant's proof waits)."""
    at: datetime
