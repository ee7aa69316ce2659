"""Vendor and application shapes on the wire."""

from __future__ import annotations

from datetime import datetime

import msgspec

from member_api.schemas import PageOut
from registry.membership.models import Vendor, VendorApplication
from registry.membership.services import ApplicationReview


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
    size: str | None = None
    """micro, small, medium or large, as the member declared it; null when it did not."""


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
    competing_applications: list[int] = []
    """Other pending applications for the same credit code, signed by other keys: one of
    them may not be the company's own. Approving one refuses the others."""


class ApplicationPage(msgspec.Struct):
    """A page of applications."""

    items: list[ApplicationOut]
    page: PageOut


class ApplicationDecisionIn(msgspec.Struct, forbid_unknown_fields=True):
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
        size=None if vendor.size is None else vendor.size.value,
    )


def application_out(
    application: VendorApplication, review: ApplicationReview | None = None
) -> ApplicationOut:
    """Shape an application; under review, with what it claims and its competitors."""
    vendor = application.vendor
    slug, name_zh, name_en = vendor.slug, vendor.name_zh, vendor.name_en
    if review is not None:
        claims = review.claims
        slug, name_zh, name_en = claims.slug.strip().lower(), claims.name_zh, claims.name_en
    return ApplicationOut(
        id=application.id,
        status=application.status.value,
        vendor=slug,
        credit_code=vendor.credit_code,
        name_zh=name_zh,
        name_en=name_en,
        key_id=application.key_id,
        submitted_at=application.submitted_at,
        log_index=application.log_index,
        decided_at=application.decided_at,
        reason=application.reason,
        decision_log_index=application.decision_log_index,
        competing_applications=list(review.competing) if review else [],
    )
