"""What happens to registered keys, published for other aggregates.

Published by `registry.keys`; subscribers are wired in `registry.services` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from registry.events import DomainEvent

__all__ = ["KeyRevoked"]


@dataclass(frozen=True, slots=True)
class KeyRevoked(DomainEvent):
    """A vendor key was revoked: nothing it signs is accepted from `at` on, and what it
    obtained (login tokens) is withdrawn with it."""

    key_id: str
    vendor_id: int
    compromised_since: datetime | None
    at: datetime
