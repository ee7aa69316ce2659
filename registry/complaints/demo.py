"""Demo complaints: enough across vendors, categories, regions and states that the public
figures and the mediation queue look real (some breached, some mediated, some rated), and
a few about unregistered subjects (a domain, an app id, a credit code) awaiting triage.

Everything goes through `ComplaintServices` with a clock set into the past, so clocks,
breaches, log leaves and webhooks are exactly what live traffic would have produced.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import select

from registry.complaints.filing import ComplaintSubmission
from registry.complaints.messages import PROVINCES
from registry.complaints.models import ComplaintCategory, MediationOutcome, SubjectKind
from registry.complaints.services import ComplaintServices
from registry.federation.models import Association
from registry.kernel.caller import Caller, Role
from registry.kernel.clock import ManualClock
from registry.kernel.credit_code import check_character
from registry.services import Services

DEMO_COMPLAINTS_PER_VENDOR = (12, 10, 9, 8, 7, 6, 5, 4, 3)
"""The first vendors get enough complaints for their public figures to show."""

STORIES = {
    ComplaintCategory.PERSONAL_INFORMATION_LEAK: (
        "注册后频繁接到推销电话，对方能说出我的姓名和购买记录。",
        "说明信息泄露原因并删除我的个人信息",
    ),
    ComplaintCategory.QUALITY_BELOW_STANDARD: (
        "软件更新后经常闪退，数据无法同步。",
        "尽快修复问题，补偿会员时长",
    ),
    ComplaintCategory.FALSE_ADVERTISING: (
        "宣传称“永久免费”，使用一个月后开始强制收费。",
        "按宣传内容继续免费提供服务",
    ),
    ComplaintCategory.MISSING_AFTER_SALES: (
        "客服热线一直无人接听，在线客服只有机器人回复。",
        "安排人工客服处理并给出书面答复",
    ),
    ComplaintCategory.BILLING_REFUND: (
        "取消自动续费后仍被扣款，申请退款无人处理。",
        "退还多扣的费用",
    ),
    ComplaintCategory.UNFAIR_TERMS: (
        "用户协议规定企业可随意修改价格且不退款。",
        "修改不公平条款并允许无理由退订",
    ),
    ComplaintCategory.OTHER: (
        "账号被无故封禁，申诉后没有任何回复。",
        "解除封禁并说明原因",
    ),
}

# What happens after filing; weights shape a believable mix.
SCENARIOS = (
    ("resolved_rated", 5),
    ("resolved_conceded", 2),
    ("acknowledged_open", 1),
    ("breached_first_response", 2),
    ("mediated_upheld", 1),
    ("mediated_not_upheld", 1),
)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ("伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "娟")
UNREGISTERED_FIRST17 = "91440300MA5FQ8K2X"
"""A well-formed company credit code (Shenzhen) that no demo vendor holds."""
UNREGISTERED_SUBJECTS = (
    (SubjectKind.DOMAIN, "tehui-shangcheng.cn", ComplaintCategory.FALSE_ADVERTISING, 3),
    (SubjectKind.APP_ID, "com.kuaijie.loan", ComplaintCategory.PERSONAL_INFORMATION_LEAK, 2),
    (
        SubjectKind.CREDIT_CODE,
        UNREGISTERED_FIRST17 + check_character(UNREGISTERED_FIRST17),
        ComplaintCategory.BILLING_REFUND,
        1,
    ),
)
"""Subjects outside the register, with a category and how many days ago each was filed:
their complaints wait in every association's mediation queue until someone attaches
them to a vendor."""


def _story_clock(services: Services, moment: datetime) -> tuple[ComplaintServices, ManualClock]:
    clock = ManualClock(moment)
    return ComplaintServices(replace(services.ctx, clock=clock)), clock


async def load_complaints_demo(services: Services, vendor_slugs: list[str]) -> int:
    """File demo complaints against the first vendors; returns how many were filed."""
    rng = random.Random(6)  # noqa: S311 - reproducible demo data, not secrets
    now = services.ctx.clock.now()
    names = [scenario for scenario, weight in SCENARIOS for _ in range(weight)]
    mediators: dict[int, Caller] = {}
    filed = 0
    for slug, count in zip(vendor_slugs, DEMO_COMPLAINTS_PER_VENDOR, strict=False):
        vendor_admin = await _demo_caller(
            services, Role.VENDOR_ADMIN, f"demo {slug}", vendor_slug=slug
        )
        association_id = vendor_admin.association_id
        assert association_id is not None  # noqa: S101 - vendors belong to one
        for index in range(count):
            scenario = names[(index + filed) % len(names)]
            category = list(ComplaintCategory)[(index * 3 + filed) % len(ComplaintCategory)]
            filed_at = now - timedelta(days=rng.randint(10, 300), hours=rng.randint(0, 23))
            service, clock = _story_clock(services, filed_at)
            result = await service.consumers.file(
                _member_submission(slug, category, filed_at, rng),
                client_ip=f"198.51.100.{filed % 250}",
            )
            assert result.secret is not None  # noqa: S101 - demo contacts are all distinct
            if association_id not in mediators:
                mediators[association_id] = await _demo_caller(
                    services,
                    Role.MEDIATOR,
                    "demo mediator",
                    association_slug=await _association_slug(services, association_id),
                )
            await _play(
                service,
                clock,
                scenario,
                result.tracking_code,
                result.secret,
                vendor_admin,
                mediators[association_id],
                rng,
            )
            filed += 1
    return filed + await _file_unregistered(services, rng, now)


async def _demo_caller(
    services: Services,
    role: Role,
    display_name: str,
    *,
    vendor_slug: str | None = None,
    association_slug: str | None = None,
) -> Caller:
    """A new principal of `role` (scoped to a vendor or association), as its token acts."""
    issued = await services.accounts.create_principal_with_token(
        role=role,
        display_name=display_name,
        vendor_slug=vendor_slug,
        association_slug=association_slug,
    )
    return await services.accounts.authenticate(issued.token)


def _member_submission(
    slug: str, category: ComplaintCategory, filed_at: datetime, rng: random.Random
) -> ComplaintSubmission:
    """A consumer's filing against member vendor `slug`, with a random name and region."""
    description, remedy = STORIES[category]
    name = rng.choice(SURNAMES) + rng.choice(GIVEN)
    return ComplaintSubmission(
        vendor=slug,
        product=f"{slug} 会员服务",
        category=category.value,
        description=description,
        desired_remedy=remedy,
        region=rng.choice(list(PROVINCES)),
        occurred_on=(filed_at.date() - timedelta(days=rng.randint(0, 20))).isoformat(),
        contact_name=name,
        contact_phone=f"13{rng.randint(100000000, 999999999)}",
        consent_to_share=rng.random() < 0.8,
        language="zh",
    )


async def _file_unregistered(services: Services, rng: random.Random, now: datetime) -> int:
    """File one complaint per unregistered subject; they stay `submitted`, awaiting triage."""
    for index, (kind, value, category, days_ago) in enumerate(UNREGISTERED_SUBJECTS):
        description, remedy = STORIES[category]
        filed_at = now - timedelta(days=days_ago, hours=rng.randint(0, 23))
        service, _clock = _story_clock(services, filed_at)
        await service.consumers.file(
            ComplaintSubmission(
                subject_kind=kind.value,
                subject_value=value,
                product=f"{value} 相关服务",
                category=category.value,
                description=description,
                desired_remedy=remedy,
                region=rng.choice(list(PROVINCES)),
                occurred_on=(filed_at.date() - timedelta(days=rng.randint(0, 5))).isoformat(),
                contact_name=rng.choice(SURNAMES) + rng.choice(GIVEN),
                contact_phone=f"13{rng.randint(100000000, 999999999)}",
                consent_to_share=True,
                language="zh",
            ),
            client_ip=f"203.0.113.{index + 1}",
        )
    return len(UNREGISTERED_SUBJECTS)


async def _play(  # noqa: PLR0917 - one story's cast
    service: ComplaintServices,
    clock: ManualClock,
    scenario: str,
    code: str,
    secret: str,
    vendor: Caller,
    mediator: Caller,
    rng: random.Random,
) -> None:
    """Walk one complaint through its scenario, moving its own clock forward."""
    if scenario == "breached_first_response":
        clock.advance(timedelta(hours=25))
        await service.clocks.escalate_breaches()
        if rng.random() < 0.5:
            clock.advance(timedelta(days=2))
            await service.mediators.decide(
                mediator, code, MediationOutcome.UPHELD, "企业未在时限内答复"
            )
            await service.mediators.close(mediator, code, "")
        return
    clock.advance(timedelta(hours=rng.choice((1, 3, 6, 12, 20, 30))))
    await service.vendors.acknowledge(vendor, code, "您好，已收到您的投诉，我们正在核实。")
    if scenario == "acknowledged_open":
        return
    clock.advance(timedelta(days=rng.randint(1, 5)))
    concede = scenario != "resolved_rated" or rng.random() < 0.3
    await service.vendors.propose_resolution(
        vendor, code, "为您办理退款并补偿一个月会员。", concede=concede
    )
    clock.advance(timedelta(hours=10))
    if scenario.startswith("mediated"):
        await service.consumers.reject(code, secret, "方案不能接受")
        clock.advance(timedelta(days=3))
        outcome = (
            MediationOutcome.UPHELD
            if scenario == "mediated_upheld"
            else MediationOutcome.NOT_UPHELD
        )
        await service.mediators.decide(mediator, code, outcome, "调解员已听取双方意见")
        await service.mediators.close(mediator, code, "")
    else:
        await service.consumers.accept(code, secret)
    if rng.random() < 0.85:
        clock.advance(timedelta(days=1))
        score = rng.choice((5, 5, 4, 4, 4, 3, 2)) if scenario != "mediated_not_upheld" else 2
        await service.consumers.rate(code, secret, score, "")


async def _association_slug(services: Services, association_id: int) -> str:
    async with services.ctx.db.read() as session:
        slug = await session.scalar(
            select(Association.slug).where(Association.id == association_id)
        )
    assert slug is not None  # noqa: S101 - the id came from a vendor row
    return slug
