"""Demo blacklist: cases and listings in every state, reached through the real services.

Each story is its own member vendor (of either association) with a certificate, five
complaints it conceded (which open a case under the default rulebook), and then what
the committee, the vendor and the scheduler did, each step at its own moment in the
past with the services' clock set there, so windows, deadlines, log leaves, webhooks
and the certificate cascade are what live traffic would have produced. The committee
members' keys are demo keys (`committee-<association>-<n>.key`), so their signed votes
can be checked against the log like any other. Two apps that are no member show the
non-member path: complaints a mediator took up and upheld, a public notice awaiting the
answer, and a listing after an answer relayed by a mediator.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import select

from attestations.keys import SigningKey
from registry.blacklist.models import BlacklistCase, CommitteeMember
from registry.blacklist.remedies import appeal_envelope, repair_envelope
from registry.blacklist.signing import answer_envelope
from registry.blacklist.states import CaseState, Tier, VoteChoice
from registry.blacklist.votes import vote_envelope
from registry.certification.signing import attestation_envelope
from registry.client import application_envelope
from registry.complaints.filing import ComplaintSubmission
from registry.complaints.models import MediationOutcome
from registry.kernel.caller import Caller, Role
from registry.kernel.clock import ManualClock
from registry.services import Services

DAY = timedelta(days=1)
COMMITTEE_SIZE = 3

# (slug, zh name, en name, association, days since the case opened, story)
STORIES = (
    (
        "kuaile-youxi",
        "快乐游戏科技有限公司",
        "Kuaile Games Technology Co., Ltd.",
        "csia",
        2,
        "awaiting_answer",
    ),
    (
        "lanjing-edu",
        "蓝鲸教育科技有限公司",
        "Lanjing Education Technology Co., Ltd.",
        "sipa",
        6,
        "voting",
    ),
    (
        "hongshan-map",
        "红杉地图信息有限公司",
        "Hongshan Map Information Co., Ltd.",
        "csia",
        20,
        "not_listed",
    ),
    (
        "baiyun-music",
        "白云音乐科技有限公司",
        "Baiyun Music Technology Co., Ltd.",
        "sipa",
        40,
        "lapsed",
    ),
    (
        "xiaoman-shop",
        "小满电商科技有限公司",
        "Xiaoman E-commerce Technology Co., Ltd.",
        "csia",
        12,
        "minor",
    ),
    (
        "jinqiao-loan",
        "金桥网络科技有限公司",
        "Jinqiao Network Technology Co., Ltd.",
        "sipa",
        15,
        "general",
    ),
    (
        "heiyu-data",
        "黑鱼数据科技有限公司",
        "Heiyu Data Technology Co., Ltd.",
        "csia",
        90,
        "serious",
    ),
    (
        "tianmu-video",
        "天幕视频科技有限公司",
        "Tianmu Video Technology Co., Ltd.",
        "sipa",
        10,
        "under_appeal",
    ),
    (
        "qinglan-health",
        "青岚健康科技有限公司",
        "Qinglan Health Technology Co., Ltd.",
        "csia",
        30,
        "overturned",
    ),
    (
        "chenguang-cloud",
        "晨光云计算有限公司",
        "Chenguang Cloud Computing Co., Ltd.",
        "sipa",
        120,
        "repaired",
    ),
    (
        "feiniao-travel",
        "飞鸟旅行科技有限公司",
        "Feiniao Travel Technology Co., Ltd.",
        "csia",
        120,
        "expired",
    ),
)
"""One member vendor per state a case or listing can be in."""

# (app id, governing association, days since the case opened, story)
UNREGISTERED = (
    ("com.xingyun.quickloan", "csia", 3, "awaiting_answer"),
    ("com.mingyue.fitness", "sipa", 20, "listed"),
)
"""Apps that are no member: consumers' complaints about them, taken up and upheld by a
mediator of the association that then governs the case; the first awaits the answer (a
public notice), the second was answered through a mediator and listed."""

DEMO_CASES = len(STORIES) + len(UNREGISTERED)


@dataclass
class _Cast:
    """Who acts in the stories."""

    services: Services
    now: datetime
    admin: Caller
    members: dict[str, list[tuple[Caller, SigningKey]]]


def _at(services: Services, moment: datetime) -> Services:
    return Services(replace(services.ctx, clock=ManualClock(moment)))


async def load_blacklist_demo(
    services: Services,
    admin: Caller,
    key_for: Callable[[str], SigningKey],
    credit_code_for: Callable[[str], str],
    membership_age: timedelta,
) -> int:
    """Committees, the default rulebook and one story per state; returns the cases made."""
    now = services.ctx.clock.now()
    then = _at(services, now - membership_age)
    await then.blacklist_rules.publish_default_rulebooks()
    cast = _Cast(services, now, admin, {})
    for association in ("csia", "sipa"):
        cast.members[association] = []
        for n in range(1, COMMITTEE_SIZE + 1):
            key = key_for(f"committee-{association}-{n}")
            row = await then.blacklist_committee.appoint(
                admin,
                association,
                display_name=f"{association} 委员会委员 {n}",
                public_key=key.public_key,
            )
            caller = Caller(row.principal_id, Role.COMMITTEE_MEMBER, row.association_id)
            cast.members[association].append((caller, key))
    for index, (slug, name_zh, name_en, association, days, story) in enumerate(STORIES):
        opened = now - days * DAY
        key = key_for(slug)
        await _member(then, admin, key, slug, name_zh, name_en, association, credit_code_for(slug))
        await _play(cast, index, slug, key, association, opened, story)
    for index, (app_id, association, days, story) in enumerate(UNREGISTERED):
        await _play_unregistered(cast, index, app_id, association, now - days * DAY, story)
    await services.blacklist_remedies.expire_listings()
    await services.blacklist_remedies.finalise_listings()
    return DEMO_CASES


async def _play_unregistered(  # noqa: PLR0917 - one story's cast
    cast: _Cast, index: int, app_id: str, association: str, opened: datetime, story: str
) -> None:
    """Five complaints about an app that is no member, filed two days before `opened`; a
    mediator of `association` takes each up when no member answered and upholds it; the
    fifth opens the case at `opened`. A listed story's answer is relayed and voted on."""
    issued = await cast.services.accounts.create_principal_with_token(
        role=Role.MEDIATOR, display_name=f"{association} 调解员", association_slug=association
    )
    mediator = await cast.services.accounts.authenticate(issued.token)
    codes = []
    for i in range(5):
        filing = _at(cast.services, opened - 2 * DAY + i * timedelta(hours=1))
        filed = await filing.complaints.consumers.file(
            ComplaintSubmission(
                subject_kind="app_id",
                subject_value=app_id,
                product="手机应用",
                category="billing_refund",
                description="应用内订阅取消后仍持续扣款，找不到开发者的联系方式。",
                desired_remedy="退还扣款",
                region="440000",
                occurred_on=(opened - 4 * DAY).date().isoformat(),
                contact_name="演示用户",
                contact_phone=f"1377{index:03d}{i:04d}",
                consent_to_share=False,
            ),
            client_ip=f"192.0.2.{index * 5 + i + 1}",
        )
        codes.append(filed.tracking_code)
    for i, code in enumerate(codes):
        deciding = _at(cast.services, opened - (len(codes) - 1 - i) * timedelta(minutes=10))
        mediators = deciding.complaints.mediators
        await mediators.take_up(mediator, code, "无会员应答，转入调解。")
        await mediators.decide(
            mediator, code, MediationOutcome.UPHELD, "扣款记录与消费者陈述一致，投诉成立。"
        )
    async with cast.services.ctx.db.read() as session:
        case = (
            await session.execute(
                select(BlacklistCase).where(BlacklistCase.subject_value == app_id)
            )
        ).scalar_one()
    if story == "awaiting_answer":
        return
    answering = _at(cast.services, opened + DAY)
    await answering.blacklist_notice.relay_answer(
        mediator, case.reference, "开发者经调解员转达：扣款系支付渠道重复扣费，正在退款。", [], []
    )
    voting = _at(cast.services, opened + 2 * DAY)
    await _cast_votes(
        voting,
        cast.members[association],
        case,
        f"case:{case.id}",
        [(VoteChoice.LIST, Tier.GENERAL)] * 3,
        opened + 2 * DAY,
    )


async def _member(  # noqa: PLR0917 - one vendor's identity
    services: Services,
    admin: Caller,
    key: SigningKey,
    slug: str,
    name_zh: str,
    name_en: str,
    association: str,
    credit_code: str,
) -> None:
    domain = f"{slug}.cn"
    envelope = application_envelope(
        key,
        association=association,
        credit_code=credit_code,
        slug=slug,
        name_zh=name_zh,
        name_en=name_en,
        domains=[domain],
        issued_at=services.ctx.clock.now() - timedelta(minutes=1),
        website=f"https://www.{domain}",
        contact_email=f"compliance@{domain}",
    )
    submitted = await services.membership.submit_application(envelope)
    await services.membership.approve(admin, submitted.application.id, "demo: documents checked")


async def _vendor(services: Services, slug: str) -> Caller:
    issued = await services.accounts.create_principal_with_token(
        role=Role.VENDOR_ADMIN, display_name=f"{slug} admin", vendor_slug=slug
    )
    return await services.accounts.authenticate(issued.token)


async def _open_case(
    services: Services, index: int, slug: str, key: SigningKey, opened: datetime
) -> BlacklistCase:
    """A certificate from a month before, then five complaints the vendor conceded."""
    attest = _at(services, opened - 2 * DAY)
    vendor = await _vendor(attest, slug)
    await attest.attestations.submit(
        vendor,
        slug,
        attestation_envelope(
            key,
            vendor=slug,
            period=(opened - 32 * DAY, opened - 3 * DAY),
            issued_at=opened - 2 * DAY,
        ),
    )
    for i in range(5):
        filing = _at(services, opened - (5 - i) * timedelta(hours=1))
        filed = await filing.complaints.consumers.file(
            ComplaintSubmission(
                vendor=slug,
                product="会员服务",
                category="billing_refund",
                description="取消自动续费后仍被扣款，申请退款无人处理。",
                desired_remedy="退还多扣的费用",
                region="110000",
                occurred_on=(opened - 3 * DAY).date().isoformat(),
                contact_name="演示用户",
                contact_phone=f"1390{index:03d}{i % 3:04d}",
                consent_to_share=True,
            ),
            client_ip=f"198.51.100.{index * 5 + i + 1}",
        )
        await filing.complaints.vendors.propose_resolution(
            vendor, filed.tracking_code, "全额退款", concede=True
        )
        await filing.complaints.consumers.accept(filed.tracking_code, filed.secret)
    async with services.ctx.db.read() as session:
        return (
            await session.execute(select(BlacklistCase).where(BlacklistCase.subject_value == slug))
        ).scalar_one()


async def _play(  # noqa: PLR0917 - one story's cast
    cast: _Cast,
    index: int,
    slug: str,
    key: SigningKey,
    association: str,
    opened: datetime,
    story: str,
) -> None:
    case = await _open_case(cast.services, index, slug, key, opened)
    if story == "awaiting_answer":
        return
    answering = _at(cast.services, opened + DAY)
    await answering.blacklist_notice.answer(
        await _vendor(answering, slug),
        case.reference,
        answer_envelope(
            key,
            case=case.reference,
            vendor=slug,
            statement="已对全部投诉退款，并修复了自动续费的缺陷。",
            remedies=["全额退款", "关闭自动续费"],
            issued_at=opened + DAY,
        ),
    )
    committee = cast.members[association]
    choices: dict[str, Sequence[tuple[VoteChoice, Tier | None]]] = {
        "voting": [(VoteChoice.LIST, Tier.GENERAL)],
        "not_listed": [(VoteChoice.DO_NOT_LIST, None)] * 2 + [(VoteChoice.LIST, Tier.MINOR)],
        "lapsed": [(VoteChoice.LIST, Tier.GENERAL)],
        "minor": [(VoteChoice.LIST, Tier.MINOR)] * 3,
        "expired": [(VoteChoice.LIST, Tier.MINOR)] * 3,
        "serious": [(VoteChoice.LIST, Tier.SERIOUS)] * 2 + [(VoteChoice.LIST, Tier.GENERAL)],
    }
    ballot = choices.get(
        story, [(VoteChoice.LIST, Tier.GENERAL)] * 2 + [(VoteChoice.DO_NOT_LIST, None)]
    )
    voting = _at(cast.services, opened + 2 * DAY)
    await _cast_votes(voting, committee, case, f"case:{case.id}", ballot, opened + 2 * DAY)
    if story == "lapsed":
        fresh = await _case(cast.services, case.reference)
        assert fresh.decision_due_at is not None  # noqa: S101 - voting opened
        await _at(cast.services, fresh.decision_due_at).blacklist_committee.close_due_ballots()
        return
    if story in {"under_appeal", "overturned"}:
        await _appeal(cast, slug, key, association, case, opened, overturn=story == "overturned")
    if story == "repaired":
        await _repair(cast, slug, key, committee, case, opened + 95 * DAY)


async def _case(services: Services, reference: str) -> BlacklistCase:
    async with services.ctx.db.read() as session:
        return (
            await session.execute(select(BlacklistCase).where(BlacklistCase.reference == reference))
        ).scalar_one()


async def _cast_votes(  # noqa: PLR0917 - a ballot and who votes how
    services: Services,
    committee: list[tuple[Caller, SigningKey]],
    case: BlacklistCase,
    ballot: str,
    choices: Sequence[tuple[VoteChoice, Tier | None]],
    moment: datetime,
) -> None:
    reasons = {
        VoteChoice.LIST: "五起扣费投诉经企业认可成立，来自三名不同消费者，符合规则。",
        VoteChoice.DO_NOT_LIST: "企业已全额退款并整改，不宜列入。",
        VoteChoice.OVERTURN: "原决定未充分考虑企业的整改证据。",
        VoteChoice.UPHOLD: "申诉理由不足以推翻原决定。",
        VoteChoice.GRANT: "整改到位，承诺可信，同意提前移出。",
    }
    for (caller, key), (choice, tier) in zip(committee, choices, strict=False):
        envelope = vote_envelope(
            key,
            ballot=ballot,
            case_reference=case.reference,
            evidence_digest=case.evidence_digest,
            choice=choice,
            tier=tier,
            reason=reasons.get(choice, "弃权。"),
            issued_at=moment,
        )
        await services.blacklist_committee.vote(caller, case.reference, envelope)


async def _appeal(  # noqa: PLR0917 - the appeal's cast
    cast: _Cast,
    slug: str,
    key: SigningKey,
    association: str,
    case: BlacklistCase,
    opened: datetime,
    *,
    overturn: bool,
) -> None:
    moment = opened + 4 * DAY
    filing = _at(cast.services, moment)
    appeal = await filing.blacklist_remedies.appeal(
        await _vendor(filing, slug),
        case.reference,
        appeal_envelope(
            key,
            case=case.reference,
            vendor=slug,
            grounds="扣费系第三方支付渠道故障所致，企业已在投诉前开始退款。",
            issued_at=moment,
        ),
    )
    if not overturn:
        return
    other = "sipa" if association == "csia" else "csia"
    panel = [
        m
        for m in cast.members[other]
        if m[0].principal_id in await _panel_principals(cast, appeal.panel)
    ]
    hearing = _at(cast.services, moment + DAY)
    await _cast_votes(
        hearing,
        panel,
        case,
        f"appeal:{appeal.id}",
        [(VoteChoice.OVERTURN, None)] * 2 + [(VoteChoice.UPHOLD, None)],
        moment + DAY,
    )


async def _panel_principals(cast: _Cast, member_ids: list[int]) -> set[int]:
    async with cast.services.ctx.db.read() as session:
        rows = await session.execute(
            select(CommitteeMember.principal_id).where(CommitteeMember.id.in_(member_ids))
        )
        return set(rows.scalars())


async def _repair(  # noqa: PLR0917 - the repair's cast
    cast: _Cast,
    slug: str,
    key: SigningKey,
    committee: list[tuple[Caller, SigningKey]],
    case: BlacklistCase,
    moment: datetime,
) -> None:
    applying = _at(cast.services, moment)
    repair = await applying.blacklist_remedies.repair(
        await _vendor(applying, slug),
        case.reference,
        repair_envelope(
            key,
            case=case.reference,
            vendor=slug,
            commitment="承诺取消自动续费须经用户二次确认，退款三个工作日内到账。",
            changes="上线了续费提醒与一键退款，客服响应时间缩短至四小时。",
            issued_at=moment,
            remediation_digests=["5f" * 32],
        ),
    )
    deciding = _at(cast.services, moment + DAY)
    await _cast_votes(
        deciding,
        committee,
        case,
        f"repair:{repair.id}",
        [(VoteChoice.GRANT, None)] * 3,
        moment + DAY,
    )


CASE_STATES_SHOWN = frozenset(CaseState)
"""The demo shows a case in every state."""
