"""Demo certificates in every state, reached through the real services.

Each scenario runs the same service calls live traffic makes, on a clock set back in
time, so every certificate carries the attestations, audits and transitions that led
to its state (an expiry needs a year to pass). The back-dated steps are recorded with
their back-dated times, so the log's `recorded_at` is not monotonic across demo vendors.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select

from attestations.keys import SigningKey
from registry.accounts.demo import demo_admin
from registry.accounts.models import Principal
from registry.certification.audit_models import Auditor
from registry.certification.audits import Accreditation
from registry.certification.machine import Trigger
from registry.certification.models import Certification
from registry.certification.signing import GOOD_METRICS, attestation_envelope, audit_envelope
from registry.kernel.caller import Caller, Role
from registry.kernel.clock import ManualClock
from registry.membership.models import Vendor
from registry.services import Services

DAY = timedelta(days=1)
DEMO_AUDITOR = (
    "zhengxin-audit",
    "正信认证评估有限公司",
    "Zhengxin Certification & Assessment Ltd.",
)


class DemoVendorLike(Protocol):
    """A demo vendor slug with its signing key."""

    @property
    def slug(self) -> str:
        """The vendor's slug."""
        ...

    @property
    def key(self) -> SigningKey:
        """The key it signs with."""
        ...


@dataclass
class _Scenario:
    """Steps for one vendor on a clock that starts in the past and ends now."""

    services: Services
    vendor: DemoVendorLike
    auditor_key: SigningKey
    now: datetime

    def at(self, days_ago: float) -> Services:
        moment = self.now - days_ago * DAY
        return Services(replace(self.services.ctx, clock=ManualClock(moment)))

    async def attest(
        self, days_ago: float, period_days: tuple[float, float], **kwargs: object
    ) -> None:
        services = self.at(days_ago)
        now = services.ctx.clock.now()
        envelope = attestation_envelope(
            self.vendor.key,
            vendor=self.vendor.slug,
            period=(self.now - period_days[0] * DAY, self.now - period_days[1] * DAY),
            issued_at=now,
            **kwargs,  # type: ignore[arg-type]
        )
        await services.attestations.submit(
            await _vendor_caller(services, self.vendor.slug), self.vendor.slug, envelope
        )

    async def audit(
        self, days_ago: float, period_days: tuple[float, float], *, passed: bool = True
    ) -> None:
        services = self.at(days_ago)
        envelope = audit_envelope(
            self.auditor_key,
            auditor=DEMO_AUDITOR[0],
            vendor=self.vendor.slug,
            period=(self.now - period_days[0] * DAY, self.now - period_days[1] * DAY),
            issued_at=services.ctx.clock.now(),
            report=f"audit report {self.vendor.slug} {period_days}".encode(),
            passed=passed,
        )
        await services.audits.submit(await _auditor_caller(services), envelope)

    async def admin(self, days_ago: float, action: Trigger, reason: str) -> None:
        services = self.at(days_ago)
        await services.certification.decide_by_admin(
            await demo_admin(services), self.vendor.slug, action, reason
        )

    async def jobs(self, days_ago: float) -> None:
        services = self.at(days_ago)
        await services.certification.expire_due()
        await services.certification.remind_renewals()
        await services.certification.suspend_overdue_audits()


async def _vendor_caller(services: Services, slug: str) -> Caller:
    async with services.ctx.db.read() as session:
        vendor = (await session.execute(select(Vendor).where(Vendor.slug == slug))).scalar_one()
        principal_id = await session.scalar(
            select(Principal.id).where(
                Principal.vendor_id == vendor.id, Principal.role == Role.VENDOR_ADMIN
            )
        )
    return Caller(
        principal_id=principal_id or 0,
        role=Role.VENDOR_ADMIN,
        association_id=vendor.association_id,
        vendor_id=vendor.id,
    )


async def _auditor_caller(services: Services) -> Caller:
    async with services.ctx.db.read() as session:
        principal_id = await session.scalar(
            select(Auditor.principal_id).where(Auditor.slug == DEMO_AUDITOR[0])
        )
    assert principal_id is not None  # noqa: S101 - accredited first
    return Caller(principal_id=principal_id, role=Role.AUDITOR)


Step = Callable[[_Scenario], Awaitable[None]]


async def _l1(s: _Scenario) -> None:
    await s.attest(2, (32, 2))


async def _l2(s: _Scenario) -> None:
    await s.attest(10, (40, 10))
    await s.audit(9, (190, 10))


async def _l3(s: _Scenario) -> None:
    await s.attest(40, (70, 40))
    await s.attest(5, (40, 5))
    await s.audit(4, (185, 5))


async def _renewal_due(s: _Scenario) -> None:
    await s.attest(330, (360, 330))
    await s.jobs(0)


async def _expired(s: _Scenario) -> None:
    await s.attest(400, (430, 400))
    await s.jobs(0)


async def _suspended_missed_audit(s: _Scenario) -> None:
    await s.attest(250, (280, 250))
    await s.audit(249, (430, 250))
    await s.jobs(0)


async def _suspended_by_admin(s: _Scenario) -> None:
    await s.attest(20, (50, 20))
    await s.admin(6, Trigger.SUSPEND, "演示：广告宣传内容正在核查")


async def _revoked(s: _Scenario) -> None:
    await s.attest(60, (90, 60))
    await s.audit(59, (240, 60))
    await s.admin(3, Trigger.REVOKE, "demo: confirmed personal-data leak, not remedied")


async def _applied(s: _Scenario) -> None:
    await s.attest(31, (61, 31), unmet=("legal-training",))


async def _l2_weak_figures(s: _Scenario) -> None:
    metrics = {**GOOD_METRICS, "satisfaction_rate": 0.72}
    await s.attest(45, (75, 45), metrics=metrics)
    await s.attest(8, (45, 8), metrics=metrics)
    await s.audit(7, (200, 8))


# The order of DEMO_VENDORS: the walkthrough in the README uses the `applied` one.
SCENARIOS: tuple[tuple[str, Step], ...] = (
    ("active L3", _l3),
    ("active L2", _l2),
    ("active L1", _l1),
    ("renewal due", _renewal_due),
    ("expired", _expired),
    ("suspended: audit overdue", _suspended_missed_audit),
    ("suspended by admin", _suspended_by_admin),
    ("revoked", _revoked),
    ("applied", _applied),
    ("active L2", _l2_weak_figures),
    ("active L1", _l1),
    ("active L2", _l2),
)


async def accredit_demo_auditor(services: Services, key: SigningKey, scopes: Sequence[str]) -> None:
    """Accredit the demo auditor (two years back, three ahead) unless it already is."""
    async with services.ctx.db.read() as session:
        if await session.scalar(select(Auditor.id).where(Auditor.slug == DEMO_AUDITOR[0])):
            return
    now = services.ctx.clock.now()
    await services.audits.accredit(
        await demo_admin(services),
        Accreditation(
            slug=DEMO_AUDITOR[0],
            name_zh=DEMO_AUDITOR[1],
            name_en=DEMO_AUDITOR[2],
            public_keys=[key.public_key.to_base64()],
            scope=list(scopes),
            accredited_from=now - 730 * DAY,
            accredited_until=now + 1095 * DAY,
        ),
    )


async def load_certification_demo(
    services: Services,
    vendors: Sequence[DemoVendorLike],
    auditor_key: SigningKey,
    scopes: Sequence[str],
) -> int:
    """Certificates in every state for the first demo vendors; returns how many were built."""
    await accredit_demo_auditor(services, auditor_key, scopes)
    now = services.ctx.clock.now()
    built = 0
    for vendor, (_, step) in zip(vendors, SCENARIOS, strict=False):
        async with services.ctx.db.read() as session:
            has_one = await session.scalar(
                select(Certification.id)
                .join(Vendor, Vendor.id == Certification.vendor_id)
                .where(Vendor.slug == vendor.slug)
            )
        if has_one:
            continue
        await step(_Scenario(services, vendor, auditor_key, now))
        built += 1
    return built
