"""Who is calling: the identity every service method authorises against, and its roles.

Part of the kernel: every aggregate authorises against a `Caller`, and the role enum is
the vocabulary of that check (accounts stores it on principals)."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Role(enum.StrEnum):
    """Every role the registry knows; consumers are anonymous and have none."""

    FEDERATION_ADMIN = "federation_admin"
    ASSOCIATION_ADMIN = "association_admin"
    VENDOR_ADMIN = "vendor_admin"
    AUDITOR = "auditor"
    COMMITTEE_MEMBER = "committee_member"
    MEDIATOR = "mediator"
    GOVERNMENT_PARTNER = "government_partner"


@dataclass(frozen=True)
class Caller:
    """An authenticated principal acting through one token, with that token's scope."""

    principal_id: int
    role: Role
    association_id: int | None = None
    vendor_id: int | None = None
    token_id: int | None = None

    def speaks_for_vendor(self, vendor_id: int) -> bool:
        """True when this caller is the vendor's own admin."""
        return self.role is Role.VENDOR_ADMIN and self.vendor_id == vendor_id

    def administers_association(self, association_id: int) -> bool:
        """True for the federation admin and for that association's admins."""
        if self.role is Role.FEDERATION_ADMIN:
            return True
        return self.role is Role.ASSOCIATION_ADMIN and self.association_id == association_id
