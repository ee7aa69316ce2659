"""Who is calling: the identity every service method authorises against."""

from __future__ import annotations

from dataclasses import dataclass

from registry.accounts.models import Role


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
