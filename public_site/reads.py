"""The public site's read models, memoised per worker until the transparency log moves.

A profile page needs the vendor, its certificate, its history, its audits and the records
signed with a compromised key; this is
the one place that asks the registry services for them, so controllers stay one call.
It composes reads only: every rule stays in the services it calls.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from registry.blacklist.public_views import ListingSummary
from registry.certification.compromise import SignedRecord
from registry.certification.status import AuditSummary, PublicCertification, TransitionView
from registry.certification.verdict import NOT_CERTIFIED, Verdict, verdict
from registry.errors import NotFound
from registry.kernel.patterns import SLUG_PATTERN
from registry.public_cache import LogWatchedCache
from registry.services import Services

logger = logging.getLogger("public_site.reads")


@dataclass(frozen=True)
class VendorProfile:
    """Everything the profile and verify pages show about one member vendor."""

    slug: str
    name_zh: str
    name_en: str
    credit_code: str
    website: str | None
    domains: tuple[str, ...]
    member_status: str
    member_since: datetime
    certification: PublicCertification | None
    history: tuple[TransitionView, ...]
    audits: tuple[AuditSummary, ...]
    compromised: tuple[SignedRecord, ...] = ()
    """Records signed by one of the vendor's keys after that key was compromised."""
    listings: tuple[ListingSummary, ...] = ()
    """The vendor's blacklist listings in force, minor ones included (each is logged, so
    the cache drops with the log's next leaf)."""


class PublicReads:
    """Cached answers to what the public asks: a vendor's status and its profile."""

    def __init__(self, services: Services, cache: LogWatchedCache[object]) -> None:
        self.services = services
        self.cache = cache

    @property
    def max_age_seconds(self) -> int:
        """Cache-Control max-age of badge answers."""
        return int(self.services.ctx.settings.badge_http_max_age.total_seconds())

    async def log_size(self) -> int:
        """The transparency log's size: the version of everything public."""
        async with self.services.ctx.db.read() as session:
            return await self.services.log.size(session)

    async def certification(self, slug: str) -> PublicCertification | None:
        """A member vendor's public certificate; None for an unknown or malformed slug."""
        if not SLUG_PATTERN.match(slug):
            return None
        value = await self.cache.get_or_load(
            ("certification", slug), lambda: self.services.certification.public_status(slug)
        )
        return value if isinstance(value, PublicCertification) else None

    async def verdict(self, slug: str) -> Verdict:
        """What a badge may claim now; any failure reads "not certified" (fail closed)."""
        try:
            certification = await self.certification(slug)
        except Exception:  # noqa: BLE001 - a badge must never fail open or turn into an error
            logger.warning("badge status of %r unavailable; showing not certified", slug)
            return NOT_CERTIFIED
        return verdict(certification, self.services.ctx.clock.now())

    async def profile(self, slug: str) -> VendorProfile:
        """The profile of a member vendor, or NotFound."""
        if not SLUG_PATTERN.match(slug):
            raise NotFound(f"no member vendor with slug {slug!r}")
        value = await self.cache.get_or_load(("profile", slug), lambda: self._load_profile(slug))
        if not isinstance(value, VendorProfile):
            raise NotFound(f"no member vendor with slug {slug!r}")
        return value

    async def _load_profile(self, slug: str) -> VendorProfile | None:
        services = self.services
        try:
            vendor = await services.membership.vendor(slug)
        except NotFound:
            return None
        return VendorProfile(
            slug=vendor.slug,
            name_zh=vendor.name_zh,
            name_en=vendor.name_en,
            credit_code=vendor.credit_code,
            website=vendor.website,
            domains=tuple(vendor.verified_domains),
            member_status=vendor.status.value,
            member_since=vendor.created_at,
            certification=await services.certification.public_status(slug),
            history=tuple(await services.certification.history(slug)),
            audits=tuple(await services.certification.audit_summaries(slug)),
            compromised=tuple(await services.key_compromise.flagged_for_vendor(slug)),
            listings=await services.blacklist_public.vendor_listings(vendor.id),
        )
