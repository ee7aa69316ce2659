"""Vendor and application shapes on the wire."""

from __future__ import annotations

from datetime import datetime

import msgspec

from member_api.schemas import PageOut
from registry.membership.models import Vendor, VendorApplication


class VendorOut(msgspec.Struct):
    """A member vendor as the public directory shows it."""

    slug: str
    credit_code: str
    name_zh: str
    name_en: str
    status: str
    domains: list[str]
    website: str | None
    member_since: datetime


class VendorPage(msgspec.Struct):
    """A page of the vendor directory."""

    items: list[VendorOut]
    page: PageOut


class ApplicationOut(msgspec.Struct):
    """An application and its decision."""

    id: int
    status: str
    vendor: str
    credit_code: str
    name_zh: str
    name_en: str
    key_id: str
    submitted_at: datetime
    log_index: int | None
    decided_at: datetime | None = None
    reason: str | None = None
    decision_log_index: int | None = None


class ApplicationPage(msgspec.Struct):
    """A page of applications."""

    items: list[ApplicationOut]
    page: PageOut


class DecisionIn(msgspec.Struct, forbid_unknown_fields=True):
    """An admin's decision; a reason is required to reject."""

    reason: str = ""


def vendor_out(vendor: Vendor) -> VendorOut:
    """Shape a vendor."""
    return VendorOut(
        slug=vendor.slug,
        credit_code=vendor.credit_code,
        name_zh=vendor.name_zh,
        name_en=vendor.name_en,
        status=vendor.status.value,
        domains=vendor.verified_domains,
        website=vendor.website,
        member_since=vendor.created_at,
    )


def application_out(application: VendorApplication) -> ApplicationOut:
    """Shape an application."""
    vendor = application.vendor
    return ApplicationOut(
        id=application.id,
        status=application.status.value,
        vendor=vendor.slug,
        credit_code=vendor.credit_code,
        name_zh=vendor.name_zh,
        name_en=vendor.name_en,
        key_id=application.key_id,
        submitted_at=application.submitted_at,
        log_index=application.log_index,
        decided_at=application.decided_at,
        reason=application.reason,
        decision_log_index=application.decision_log_index,
    )
