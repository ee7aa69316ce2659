"""The blacklist's public pages over HTTP, on both databases: `/blacklist` with its search
and filters, a record page for every listing the demo holds (in force, retracted,
repaired, expired) in Chinese and English, the vendor profile's listings, the notices of
non-members' cases, and no personal data anywhere."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from sqlalchemy import select

from registry.blacklist.demo import STORIES
from registry.blacklist.models import BlacklistCase, BlacklistRule, CaseStep, Listing
from registry.blacklist.rulebooks import rulebook_in_force, spec_of
from registry.blacklist.rules import ComplaintFact, Subject, SubjectFacts, evaluate
from registry.blacklist.rules import evidence_bundle as bundle_of
from registry.blacklist.services import Candidate, open_case
from registry.blacklist.states import CaseState, ListingState, RuleKind, SubjectKind
from registry.complaints.filing import ComplaintSubmission
from registry.complaints.models import Complaint
from registry.demo import load_demo
from registry.federation.models import Association
from registry.kernel.caller import Role
from registry.kernel.clock import ManualClock
from registry.membership.models import Vendor
from registry.services import Services
from registry.transparency.services import lock_head
from tests.factories import member_vendor
from tests.integration.test_blacklist_cases import conceded_complaints

REFERENCE = re.compile(r'href="/blacklist/(BL-\d{4}-\d{6})"')
NOTICE_LINK = re.compile(r'href="/blacklist/notices/(BL-\d{4}-\d{6})"')
DEMO_TEXTS = (
    # What the demo's consumers, vendors and committee members wrote (registry.blacklist.demo):
    # none of it is published on the blacklist pages.
    "演示用户",
    "取消自动续费后仍被扣款",
    "退还多扣的费用",
    "已对全部投诉退款",
    "扣费系第三方支付渠道故障所致",
    "承诺取消自动续费须经用户二次确认",
    "五起扣费投诉经企业认可成立",
)


def references(html: str) -> set[str]:
    """The listing records a list page links to."""
    return set(REFERENCE.findall(html))


async def get(api: httpx.AsyncClient, path: str, lang: str = "zh", **params: str) -> str:
    """A page that must answer 200, in `lang`."""
    response = await api.get(path, params={**params, "lang": lang})
    assert response.status_code == 200, (path, params, response.text[:300])
    assert f'<html lang="{"zh-CN" if lang == "zh" else "en"}">' in response.text
    return response.text


async def test_the_demo_blacklist_in_every_state_without_personal_data(
    api: httpx.AsyncClient, services: Services
) -> None:
    await load_demo(services, if_empty=False, history=0)
    async with services.ctx.db.read() as session:
        rows = (
            await session.execute(
                select(Listing, BlacklistCase, BlacklistRule, Association.slug, Vendor)
                .join(BlacklistCase, BlacklistCase.id == Listing.case_id)
                .join(BlacklistRule, BlacklistRule.id == BlacklistCase.rule_row_id)
                .join(Association, Association.id == Listing.association_id)
                .join(Vendor, Vendor.id == Listing.vendor_id)
            )
        ).all()
        unlisted = list(
            (
                await session.execute(
                    select(BlacklistCase.reference).where(
                        BlacklistCase.state != CaseState.LISTED,
                        BlacklistCase.vendor_id.is_not(None),
                    )
                )
            ).scalars()
        )
        # The demo's two apps that are no member: one listed, one awaiting its answer.
        others = {
            case.reference: (listing, assoc)
            for listing, case, assoc in await session.execute(
                select(Listing, BlacklistCase, Association.slug)
                .join(BlacklistCase, BlacklistCase.id == Listing.case_id)
                .join(Association, Association.id == Listing.association_id)
                .where(Listing.vendor_id.is_(None))
            )
        }
        notices = set(
            (
                await session.execute(
                    select(BlacklistCase.reference).where(
                        BlacklistCase.vendor_id.is_(None),
                        BlacklistCase.state == CaseState.AWAITING_ANSWER,
                    )
                )
            ).scalars()
        )
        steps = {
            case_id: [s.log_index for s in group]
            for case_id, group in _by_case(
                (await session.execute(select(CaseStep).order_by(CaseStep.id))).scalars()
            ).items()
        }
        complaints = (
            await session.execute(
                select(
                    Complaint.tracking_code, Complaint.contact_fingerprint, Complaint.ip_fingerprint
                ).where(
                    Complaint.vendor_id.in_([v.id for *_, v in rows])
                    | Complaint.vendor_id.is_(None)
                )
            )
        ).all()
    listings = {
        case.reference: (listing, case, rule, assoc, v) for listing, case, rule, assoc, v in rows
    }
    assert {listing.state for listing, *_ in listings.values()} == set(ListingState)
    assert len(unlisted) == 4  # awaiting an answer, voting, not listed, lapsed: all members'
    assert (len(others), len(notices)) == (1, 1)
    public = set(listings) | set(others)
    personal = [*DEMO_TEXTS, *(value for row in complaints for value in row if value)]
    personal += [f"1390{i:03d}{n:04d}" for i in range(len(STORIES)) for n in range(3)]
    pages: dict[str, str] = {}

    # The list: every listing, in force first; no member's open or closed case; the
    # non-member's open case as a notice.
    for lang in ("zh", "en"):
        html = await get(api, "/blacklist", lang)
        pages[f"/blacklist {lang}"] = html
        assert references(html) == public
        assert set(NOTICE_LINK.findall(html)) == notices
        for reference in unlisted:
            assert reference not in html
    first_retracted = html.index(
        next(r for r, v in listings.items() if v[0].state is ListingState.RETRACTED)
    )
    assert all(
        html.index(r) < first_retracted
        for r, v in listings.items()
        if v[0].state is ListingState.LISTED
    )

    # Filters and search, each compared with the database.
    every = {
        **{
            ref: (listing, assoc, vendor.slug)
            for ref, (listing, _c, _r, assoc, vendor) in listings.items()
        },
        **{ref: (listing, assoc, None) for ref, (listing, assoc) in others.items()},
    }

    def matching(**wanted: str) -> set[str]:
        return {
            reference
            for reference, (listing, assoc, slug) in every.items()
            if all(
                {"tier": listing.tier.value, "state": listing.state.value}.get(key, "") == value
                or (key, value) in {("association", assoc), ("slug", slug)}
                for key, value in wanted.items()
            )
        }

    heiyu = next(v for *_, v in listings.values() if v.slug == "heiyu-data")
    checks: dict[tuple[tuple[str, str], ...], set[str]] = {
        (("tier", "minor"),): matching(tier="minor"),
        (("state", "retracted"),): matching(state="retracted"),
        (("state", "listed"), ("association", "sipa")): matching(
            state="listed", association="sipa"
        ),
        (("kind", "substantiated_complaints"),): public,
        (("kind", "sla_breach_ratio"),): set(),
        (("q", "金桥"),): matching(slug="jinqiao-loan"),
        (("q", "heiyu data"),): matching(slug="heiyu-data"),
        (("q", heiyu.credit_code.lower()),): matching(slug="heiyu-data"),
        (("q", "tianmu-video"),): matching(slug="tianmu-video"),
        (("q", "no-such-subject"),): set(),
        (("association", "no-such-association"),): set(),
    }
    # Each filter narrows the list, and each search finds its one vendor.
    assert all(len(v) < len(public) for k, v in checks.items() if k[0][0] != "kind")
    assert all(
        len(v) == 1 for k, v in checks.items() if k[0][0] == "q" and "no-such" not in k[0][1]
    )
    for params, expected in checks.items():
        html = await get(api, "/blacklist", "en", **dict(params))
        assert references(html) == expected, params
        pages[f"/blacklist {params}"] = html
    assert "No listing matches." in (await get(api, "/blacklist", "en", q="no-such-subject"))
    notices_only = await get(api, "/blacklist", "zh", state="notice")
    assert references(notices_only) == set()
    assert set(NOTICE_LINK.findall(notices_only)) == notices
    refused = await api.get("/blacklist", params={"tier": "gigantic"})
    assert refused.status_code == 400
    assert "text/html" in refused.headers["content-type"]

    # A record page for every listing, in both languages, with its rule, evidence summary,
    # tally, end date and a link to the log entry of every step.
    for reference, (listing, case, rule, _assoc, vendor) in listings.items():
        for lang in ("zh", "en"):
            html = await get(api, f"/blacklist/{reference}", lang)
            pages[f"/blacklist/{reference} {lang}"] = html
            assert f'data-listing-state="{listing.state.value}"' in html
            assert (rule.title_zh if lang == "zh" else rule.title_en) in html
            assert (rule.text_zh if lang == "zh" else rule.text_en) in html
            assert f"{rule.rule_id}@{rule.version}" in html
            assert case.evidence_digest in html
            assert (vendor.name_zh if lang == "zh" else vendor.name_en) in html
            assert {"minor": "轻微", "general": "一般", "serious": "严重"}[
                listing.tier.value
            ] in html or lang == "en"
            assert {"minor": "Minor", "general": "General", "serious": "Serious"}[
                listing.tier.value
            ] in html or lang == "zh"
            assert ("（北京时间）" if lang == "zh" else "(UTC)") in html
            until = listing.published_until.isoformat().replace("+00:00", "Z")
            assert f'data-field="published-until"><time datetime="{until}">' in html
            for log_index in steps[case.id]:
                assert f'href="/transparency/entries/{log_index}"' in html
            counts = case.evidence["counts"]
            assert f'data-count="substantiated">{counts["substantiated"]}<' in html
            assert f'data-count="distinct_complainants">{counts["distinct_complainants"]}<' in html
        zh = pages[f"/blacklist/{reference} zh"]
        en = pages[f"/blacklist/{reference} en"]
        if listing.state is ListingState.RETRACTED:
            assert 'data-ended="retracted"' in en
            assert "This listing was retracted" in en
            assert "该列入已撤销" in zh
            assert "overturned the listing on appeal" in en
        elif listing.state is ListingState.REPAIRED:
            assert "This listing ended early by credit repair" in en
            assert "信用修复" in zh
        elif listing.state is ListingState.EXPIRED:
            assert "This listing has ended" in en
            assert "该列入已终止" in zh
        else:
            assert "data-ended" not in en
            assert "Credit repair is free" in en
            assert "信用修复不收取任何费用" in zh
    entry = await api.get(f"/transparency/entries/{steps[next(iter(listings.values()))[1].id][0]}")
    assert entry.status_code == 200

    # The vendor's profile shows what is in force, a minor listing included.
    for reference, (listing, _case, _rule, _assoc, vendor) in listings.items():
        html = await get(api, f"/vendors/{vendor.slug}", "en")
        pages[f"/vendors/{vendor.slug}"] = html
        if listing.state is ListingState.LISTED:
            assert f'data-listing="{reference}" data-tier="{listing.tier.value}"' in html
            assert f'href="/blacklist/{reference}"' in html
        else:
            assert 'data-field="blacklist"' not in html
    assert 'data-field="blacklist"' not in await get(api, "/vendors/kuaile-youxi", "zh")

    # Unknown, unlisted and malformed references answer the 404 page; a member's case is
    # never a public notice.
    for path in (
        "/blacklist/BL-2099-999999",
        *(f"/blacklist/{r}" for r in unlisted),
        *(f"/blacklist/notices/{r}" for r in [*unlisted, *listings]),
    ):
        response = await api.get(path, headers={"Accept": "text/html"})
        assert response.status_code == 404, path
        assert "页面不存在" in response.text or "Page not found" in response.text
    assert (await api.get("/blacklist/%3Cscript%3E")).status_code in {400, 404}

    for where_, html in pages.items():
        for value in personal:
            assert value not in html, (where_, value)


def _by_case(steps: object) -> dict[int, list[CaseStep]]:
    grouped: dict[int, list[CaseStep]] = {}
    for step in steps:  # type: ignore[attr-defined]
        grouped.setdefault(step.case_id, []).append(step)
    return grouped


async def nonmember_case(services: Services, domain: str) -> str:
    """A case about an unregistered domain, opened by the registry's own `open_case`.

    Complaints about `domain` are filed through the real consumer service; the mediator's
    finding is stated in the facts handed to the leak rule (a mediator taking up and
    upholding such complaints is walked in tests/integration/test_blacklist_nonmember.py).
    The rule, the evidence bundle, the case, its log leaves and its public notice are the
    real ones.
    """
    now = services.ctx.clock.now()
    facts = []
    for i in range(2):
        filed = await services.complaints.consumers.file(
            ComplaintSubmission(
                subject_kind="domain",
                subject_value=domain,
                product="会员服务",
                category="personal_information_leak",
                description="注册后个人信息被泄露给推销电话。",
                desired_remedy="删除我的个人信息",
                region="110000",
                occurred_on=(now - timedelta(days=3)).date().isoformat(),
                contact_name="李明",
                contact_phone=f"1370000{i:04d}",
            ),
            client_ip=f"198.51.100.{200 + i}",
        )
        facts.append(
            ComplaintFact(
                filed.tracking_code,
                "personal_information_leak",
                now - timedelta(days=2),
                now - timedelta(days=1),
                now - timedelta(days=1),
                f"fingerprint-{i}",
                None,
                None,
                None,
                None,
            )
        )
    async with services.ctx.db.transaction() as session:
        await lock_head(session)
        association = (
            await session.execute(select(Association).where(Association.slug == "csia"))
        ).scalar_one()
        in_force = await rulebook_in_force(session, association.id, now)
        assert in_force is not None
        rule = next(r for r in in_force[1] if r.kind is RuleKind.PERSONAL_INFORMATION_LEAK)
        spec = spec_of(rule)
        subject = Subject(SubjectKind.DOMAIN, domain)
        verdict = evaluate(spec, SubjectFacts(subject, facts), now)
        assert verdict.holds
        case = await open_case(
            session,
            services.ctx.settings,
            Candidate(
                association.id, "csia", "default_association", subject, None, None, rule, verdict
            ),
            spec=spec,
            bundle=bundle_of(spec, subject, "csia", verdict, now),
            now=now,
        )
        return case.reference


async def test_a_non_members_open_case_is_a_public_notice_and_a_members_is_not(
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    clock: ManualClock,
    role_tokens: dict[Role, str],
) -> None:
    member = await member_vendor(services, association, "answering-member")
    await conceded_complaints(services, member, 5, 3)
    assert await services.blacklist_rules.publish_default_rulebooks() == ["csia@1"]
    clock.advance(timedelta(days=31))
    (member_reference,) = (await services.blacklist_rules.evaluate()).opened
    reference = await nonmember_case(services, "shop.leaky-example.cn")
    async with services.ctx.db.read() as session:
        case = (
            await session.execute(select(BlacklistCase).where(BlacklistCase.reference == reference))
        ).scalar_one()
        codes = list((await session.execute(select(Complaint.tracking_code))).scalars())
    assert case.vendor_id is None

    for lang in ("zh", "en"):
        html = await get(api, "/blacklist", lang)
        assert NOTICE_LINK.findall(html) == [reference]
        assert "shop.leaky-example.cn" in html
        assert member_reference not in html
        assert member.slug not in html
        page = await get(api, f"/blacklist/notices/{reference}", lang)
        assert case.evidence_digest in page
        assert 'data-field="answering"' in page
        assert f'href="/transparency/entries/{case.log_index}"' in page
        for value in ("李明", "13700000000", "注册后个人信息被泄露", "fingerprint-0", *codes):
            assert value not in html
            assert value not in page
    en = await get(api, f"/blacklist/notices/{reference}", "en")
    assert "It answers through the mediators of China Software Industry Association" in en
    assert "the subject may give its statement and defence until" in en
    zh = await get(api, f"/blacklist/notices/{reference}", "zh")
    assert "调解员" in zh
    assert "（北京时间）" in zh

    # Search and filters reach notices; a tier or listing state leaves them out.
    assert NOTICE_LINK.findall(await get(api, "/blacklist", "en", q="leaky-example")) == [reference]
    assert NOTICE_LINK.findall(await get(api, "/blacklist", "en", q="other.cn")) == []
    assert NOTICE_LINK.findall(await get(api, "/blacklist", "en", state="notice")) == [reference]
    assert NOTICE_LINK.findall(await get(api, "/blacklist", "en", tier="serious")) == []
    assert NOTICE_LINK.findall(await get(api, "/blacklist", "en", association="sipa")) == []
    # Not listed, so no listing record; the member's open case is not public at all.
    assert (await api.get(f"/blacklist/{reference}")).status_code == 404
    assert (await api.get(f"/blacklist/notices/{member_reference}")).status_code == 404
    assert (await api.get(f"/blacklist/{member_reference}")).status_code == 404

    # A mediator of the governing association relays the answer: the notice says so.
    mediator = await services.accounts.authenticate(role_tokens[Role.MEDIATOR])
    await services.blacklist_notice.relay_answer(
        mediator, reference, "已整改，删除了泄露的数据。", [], []
    )
    answered = await get(api, f"/blacklist/notices/{reference}", "en")
    assert "The subject's answer arrived on" in answered
    assert "已整改" not in answered
    assert 'data-step="answered"' in answered
