"""`registry demo`: a realistic federation so the site and API show a real picture at once.

Everything goes through the same services as live traffic (signed applications,
approvals, log entries), and the demo vendors' private keys are kept under
var/demo-keys/ so they can sign attestations later.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

from rich.progress import Progress
from sqlalchemy import func, select

from attestations.keys import SigningKey, load_signing_key
from registry.accounts.demo import demo_admin
from registry.blacklist.demo import load_blacklist_demo
from registry.certification.demo import DEMO_AUDITOR, load_certification_demo
from registry.client import application_envelope
from registry.complaints.demo import load_complaints_demo
from registry.datadir import private_dir
from registry.demo_history import DEMO_HISTORY_COMPLAINTS, HISTORY_MONTHS, load_complaint_history
from registry.errors import Conflict
from registry.kernel.clock import ManualClock
from registry.kernel.credit_code import ALPHABET, check_character
from registry.membership.models import Vendor
from registry.reports.rollups import rebuild_complaints
from registry.services import Services

DEMO_MEMBERSHIP_AGE = timedelta(days=730)
"""How long ago the demo vendors applied: before the oldest period of their histories."""
ASSOCIATIONS = (
    ("csia", "中国软件行业协会", "China Software Industry Association"),
    ("sipa", "上海市软件行业协会", "Shanghai Software Industry Association"),
)

# (slug, zh name, en name, domain, administrative division code)
DEMO_VENDORS = (
    (
        "yunzhan-cloud",
        "云栈科技有限公司",
        "Yunzhan Cloud Technology Co., Ltd.",
        "yunzhan.cn",
        "110108",
    ),
    (
        "xinghe-soft",
        "星河软件股份有限公司",
        "Xinghe Software Co., Ltd.",
        "xinghesoft.com",
        "310115",
    ),
    (
        "qingniao-pay",
        "青鸟支付科技有限公司",
        "Qingniao Payment Technology Co., Ltd.",
        "qingniaopay.cn",
        "440305",
    ),
    (
        "mingjing-security",
        "明镜信息安全有限公司",
        "Mingjing Information Security Co., Ltd.",
        "mingjingsec.cn",
        "330106",
    ),
    (
        "huiyun-edu",
        "慧云教育科技有限公司",
        "Huiyun Education Technology Co., Ltd.",
        "huiyunedu.com",
        "510107",
    ),
    (
        "tianshu-data",
        "天枢数据服务有限公司",
        "Tianshu Data Services Co., Ltd.",
        "tianshudata.cn",
        "110105",
    ),
    (
        "lanhai-saas",
        "蓝海企业服务有限公司",
        "Lanhai Enterprise SaaS Co., Ltd.",
        "lanhaisaas.com",
        "320506",
    ),
    (
        "jinqiao-travel",
        "金桥出行科技有限公司",
        "Jinqiao Mobility Technology Co., Ltd.",
        "jinqiaotravel.cn",
        "310104",
    ),
    (
        "shanhe-health",
        "山河健康科技有限公司",
        "Shanhe Health Technology Co., Ltd.",
        "shanhehealth.cn",
        "420106",
    ),
    (
        "beidou-logistics",
        "北斗物流软件有限公司",
        "Beidou Logistics Software Co., Ltd.",
        "beidoulogi.com",
        "120116",
    ),
    (
        "zhiyuan-ai",
        "智远人工智能有限公司",
        "Zhiyuan Artificial Intelligence Co., Ltd.",
        "zhiyuan-ai.cn",
        "440106",
    ),
    (
        "hongtu-games",
        "宏图互动娱乐有限公司",
        "Hongtu Interactive Entertainment Co., Ltd.",
        "hongtugames.com",
        "350102",
    ),
    (
        "yinhe-finance",
        "银禾金融科技有限公司",
        "Yinhe Financial Technology Co., Ltd.",
        "yinhefin.cn",
        "310101",
    ),
    (
        "songbai-office",
        "松柏办公软件有限公司",
        "Songbai Office Software Co., Ltd.",
        "songbaioffice.com",
        "370102",
    ),
    (
        "lingxi-cs",
        "灵犀客服系统有限公司",
        "Lingxi Customer Service Systems Co., Ltd.",
        "lingxics.cn",
        "330110",
    ),
    (
        "chenguang-retail",
        "晨光零售科技有限公司",
        "Chenguang Retail Technology Co., Ltd.",
        "chenguangretail.cn",
        "500103",
    ),
    (
        "anxin-identity",
        "安信身份认证有限公司",
        "Anxin Identity Authentication Co., Ltd.",
        "anxinid.com",
        "110102",
    ),
    (
        "fengyun-media",
        "风云视频科技有限公司",
        "Fengyun Video Technology Co., Ltd.",
        "fengyunvideo.cn",
        "440304",
    ),
    (
        "huaxia-erp",
        "华夏企业管理软件有限公司",
        "Huaxia ERP Software Co., Ltd.",
        "huaxiaerp.com",
        "610113",
    ),
    (
        "qiming-iot",
        "启明物联网有限公司",
        "Qiming Internet of Things Co., Ltd.",
        "qimingiot.cn",
        "320115",
    ),
    (
        "ruixue-mail",
        "瑞雪邮件服务有限公司",
        "Ruixue Mail Services Co., Ltd.",
        "ruixuemail.com",
        "210203",
    ),
    (
        "tongda-hr",
        "通达人力资源软件有限公司",
        "Tongda HR Software Co., Ltd.",
        "tongdahr.cn",
        "310112",
    ),
    (
        "wanxiang-map",
        "万象地图信息有限公司",
        "Wanxiang Map Information Co., Ltd.",
        "wanxiangmap.cn",
        "430104",
    ),
    (
        "zhengyi-legal",
        "正谊法律科技有限公司",
        "Zhengyi Legal Technology Co., Ltd.",
        "zhengyilegal.com",
        "310106",
    ),
)


@dataclass(frozen=True)
class DemoVendor:
    """A demo vendor with the key it signs with."""

    slug: str
    key: SigningKey


def demo_credit_code(rng: random.Random, division: str) -> str:
    """A well-formed unified social credit code for a company (91…) in `division`."""
    organisation = "".join(rng.choice(ALPHABET) for _ in range(9))
    first17 = "91" + division + organisation
    return first17 + check_character(first17)


def demo_key(directory: Path, slug: str) -> SigningKey:
    """The demo vendor's key, created on first use and kept for later signing."""
    path = directory / f"{slug}.key"
    if path.exists():
        return load_signing_key(path)
    key = SigningKey.generate()
    key.save(path)
    return key


DEMO_SIZES = ("small", "medium", "micro", "small", "large", "micro", "medium", None)
"""The size bands the demo vendors declare in turn (one in eight declares none)."""


async def load_membership_demo(services: Services) -> list[DemoVendor]:
    """Associations and approved member vendors, each applying with its own signed statement.

    They apply and are admitted DEMO_MEMBERSHIP_AGE ago: their histories reach back well
    over a year, and an audit may not cover time before a vendor applied."""
    for slug, name_zh, name_en in ASSOCIATIONS:
        await services.federation.ensure_association(slug, name_zh, name_en)
    services = Services(
        replace(services.ctx, clock=ManualClock(services.ctx.clock.now() - DEMO_MEMBERSHIP_AGE))
    )
    admin = await demo_admin(services)
    rng = random.Random(20261128)  # noqa: S311 - reproducible demo data, not secrets
    keys_dir = services.ctx.settings.demo_keys_dir
    private_dir(keys_dir)
    vendors: list[DemoVendor] = []
    now = services.ctx.clock.now()
    with Progress(transient=True) as progress:
        task = progress.add_task("demo vendors", total=len(DEMO_VENDORS))
        for position, (slug, name_zh, name_en, domain, division) in enumerate(DEMO_VENDORS):
            key = demo_key(keys_dir, slug)
            envelope = application_envelope(
                key,
                association=ASSOCIATIONS[position % len(ASSOCIATIONS)][0],
                credit_code=demo_credit_code(rng, division),
                slug=slug,
                name_zh=name_zh,
                name_en=name_en,
                domains=[domain, f"app.{domain}"],
                issued_at=now - timedelta(minutes=1),
                website=f"https://www.{domain}",
                contact_email=f"compliance@{domain}",
                size=DEMO_SIZES[position % len(DEMO_SIZES)],
            )
            submitted = await services.membership.submit_application(envelope)
            if submitted.created:
                await services.membership.approve(
                    admin, submitted.application.id, "demo: documents checked"
                )
                # Nothing serves these made-up domains' proof files: the demo records
                # them as verified by the demo (method "demo" in the log leaf).
                for claimed in (domain, f"app.{domain}"):
                    await services.domains.record_demo_proof(slug, claimed)
            vendors.append(DemoVendor(slug, key))
            progress.advance(task)
    return vendors


async def load_demo(
    services: Services,
    *,
    if_empty: bool,
    history: int = DEMO_HISTORY_COMPLAINTS,
    months: int = HISTORY_MONTHS,
) -> str:
    """Load every area's demo data; returns a one-line summary.

    The demo is loaded into an empty database only: on top of other vendors its signed
    applications would collide with what is there, half of it would be refused, and
    the refusal would name a key instead of the reason. `if_empty` makes a database
    that holds data a quiet no-op (`make run`); otherwise it is refused, saying how to
    start again. `history` is how many complaints of `months` months' history are written
    in bulk on top of the walked-through ones (`registry.demo_history`).
    """
    async with services.ctx.db.read() as session:
        existing = await session.scalar(select(func.count()).select_from(Vendor))
    if existing and if_empty:
        return f"demo skipped: {existing} vendors already exist"
    if existing:
        raise Conflict(
            f"the database already holds data ({existing} vendors), so the demo was not "
            "loaded; `registry demo --reset` empties it and loads the demo again"
        )
    vendors = await load_membership_demo(services)
    complaints = await load_complaints_demo(services, [v.slug for v in vendors])
    # The first association improves over the history, the second does not.
    complaints += await load_complaint_history(
        services.ctx,
        services.complaints.consumers.vault,
        history,
        improving_association=ASSOCIATIONS[0][0],
        months=months,
    )
    # The history was written in bulk, past the events the report rollups follow.
    with Progress(transient=True) as progress:
        task = progress.add_task("report rollups", total=None)
        await rebuild_complaints(
            services.ctx.db, lambda done, total: progress.update(task, completed=done, total=total)
        )
    certificates = await load_certification_demo(
        services,
        vendors,
        demo_key(services.ctx.settings.demo_keys_dir, "auditor-" + DEMO_AUDITOR[0]),
        [slug for slug, _, _ in ASSOCIATIONS],
    )
    blacklist_rng = random.Random(14)  # noqa: S311 - reproducible demo data, not secrets
    cases = await load_blacklist_demo(
        services,
        await demo_admin(services),
        lambda name: demo_key(services.ctx.settings.demo_keys_dir, name),
        lambda _slug: demo_credit_code(blacklist_rng, "110105"),
        DEMO_MEMBERSHIP_AGE,
    )
    await services.log.sign_checkpoint_if_grown()
    return (
        f"demo loaded: {len(ASSOCIATIONS)} associations, {len(vendors)} vendors, "
        f"{complaints} complaints, {certificates} certificates, {cases} blacklist cases; "
        f"keys in {services.ctx.settings.demo_keys_dir}"
    )
