"""The blacklist's own figures over HTTP on both databases, from the blacklist demo built
through the real services (a case in every state): the rollup and the waits the case
events keep equal a full recomputation and `registry reports rebuild`; the figures (counts, share
overturned, medians) match what was counted by hand from the demo's stories; the public
API answers in JSON and CSV, a partner sees its associations only and is logged, and
/statistics shows the section in Chinese and English."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from registry.accounts.demo import demo_admin
from registry.blacklist.demo import load_blacklist_demo
from registry.blacklist.models import BlacklistCase, CommitteeMember
from registry.blacklist.signing import answer_envelope
from registry.blacklist.states import CaseState, Tier, VoteChoice
from registry.blacklist.votes import vote_envelope
from registry.demo import DEMO_MEMBERSHIP_AGE, demo_credit_code, demo_key
from registry.federation.models import Association
from registry.kernel.caller import Caller, Role
from registry.kernel.clock import ManualClock
from registry.reports.blacklist import FigureRow
from registry.reports.models import ReportAccess
from registry.reports.rollups import (
    case_durations,
    case_events,
    rebuild_blacklist,
    rollup_blacklist_counts,
    stored_durations,
    sum_case_events,
)
from registry.reports.snapshots import verify_snapshot
from registry.services import Services
from tests.integration.test_partner_pages import (
    cookie_value,
    request,
    set_cookie,
    sign_in_form,
)

ZERO = {
    "opened": 0,
    "listed": 0,
    "not_listed": 0,
    "lapsed": 0,
    "appeals": 0,
    "appeals_overturned": 0,
    "repairs_applied": 0,
    "repairs_granted": 0,
}


async def blacklist_demo(services: Services) -> None:
    """The two demo associations and the blacklist demo's eleven stories."""
    await services.federation.ensure_association(
        "csia", "中国软件行业协会", "China Software Industry Association"
    )
    await services.federation.ensure_association(
        "sipa", "上海市软件行业协会", "Shanghai Software Industry Association"
    )
    rng = random.Random(14)
    await load_blacklist_demo(
        services,
        await demo_admin(services),
        lambda name: demo_key(services.ctx.settings.demo_keys_dir, name),
        lambda _slug: demo_credit_code(rng, "110105"),
        DEMO_MEMBERSHIP_AGE,
    )


def _expected(**counts: int) -> dict[str, int]:
    return {**ZERO, **counts}


def _by_key(rows: list[dict[str, Any]], field: str) -> dict[str, dict[str, Any]]:
    return {row[field]["key"]: row for row in rows}


def _counts(row: dict[str, Any]) -> dict[str, int]:
    names = [*ZERO]
    return {name: row[name] for name in names}


async def decide_the_awaiting_case(services: Services, clock: ManualClock) -> None:
    """The demo's case still awaiting an answer (opened two days ago, csia, proposed
    general) is answered now and listed at general a day later: three days to decision."""
    keys = services.ctx.settings.demo_keys_dir
    slug = "kuaile-youxi"
    async with services.ctx.db.read() as session:
        case = (
            await session.execute(select(BlacklistCase).where(BlacklistCase.subject_value == slug))
        ).scalar_one()
        members = list(
            await session.execute(
                select(CommitteeMember.principal_id, CommitteeMember.association_id)
                .where(CommitteeMember.association_id == case.association_id)
                .order_by(CommitteeMember.id)
            )
        )
    assert case.state is CaseState.AWAITING_ANSWER
    issued = await services.accounts.create_principal_with_token(
        role=Role.VENDOR_ADMIN, display_name="kuaile admin", vendor_slug=slug
    )
    await services.blacklist_notice.answer(
        await services.accounts.authenticate(issued.token),
        case.reference,
        answer_envelope(
            demo_key(keys, slug),
            case=case.reference,
            vendor=slug,
            statement="已退款。",
            issued_at=clock.now(),
        ),
    )
    clock.advance(timedelta(days=1))
    for n, (principal_id, association_id) in enumerate(members, start=1):
        await services.blacklist_committee.vote(
            Caller(principal_id, Role.COMMITTEE_MEMBER, association_id),
            case.reference,
            vote_envelope(
                demo_key(keys, f"committee-csia-{n}"),
                ballot=f"case:{case.id}",
                case_reference=case.reference,
                evidence_digest=case.evidence_digest,
                choice=VoteChoice.LIST,
                tier=Tier.GENERAL,
                reason="五起投诉成立。",
                issued_at=clock.now(),
            ),
        )


def _row(rows: list[dict[str, Any]], association: str, tier: str) -> dict[str, Any]:
    return next(
        r for r in rows if r["association"]["key"] == association and r["tier"]["key"] == tier
    )


def _figures(row: dict[str, Any]) -> dict[str, Any]:
    keys = [*ZERO, "overturned_share", "decision_median_days", "delist_median_days"]
    return {key: row[key] for key in keys}


def _want(
    share: float | None = None,
    decided: float | None = None,
    delisted: float | None = None,
    **counts: int,
) -> dict[str, Any]:
    return {
        **_expected(**counts),
        "overturned_share": share,
        "decision_median_days": decided,
        "delist_median_days": delisted,
    }


async def test_blacklist_figures(
    api: httpx.AsyncClient, services: Services, clock: ManualClock
) -> None:
    await blacklist_demo(services)
    await decide_the_awaiting_case(services, clock)

    # The rollup the case events kept equals a full recomputation from the rows, and
    # `registry reports rebuild` writes the same.
    async with services.ctx.db.read() as session:
        kept = await rollup_blacklist_counts(session)
        waits = await stored_durations(session)
        events = await case_events(session)
    assert kept
    assert kept == sum_case_events(events)
    assert len(waits) == 10 + 1  # the decisions to list or not, the granted repair
    assert waits == case_durations(events)
    steps = await rebuild_blacklist(services.ctx.db, lambda done, total: None)
    assert steps == 13 + 11 + 1 + 2  # opened, decided (9 listed, 1 not, 1 lapsed), appeal, repair
    async with services.ctx.db.read() as session:
        assert await rollup_blacklist_counts(session) == kept
        assert await stored_durations(session) == waits
        ids = {
            row.slug: row.id
            for row in await session.execute(select(Association.slug, Association.id))
        }
    csia, sipa = str(ids["csia"]), str(ids["sipa"])

    # 2026, counted by hand from the demo's stories (registry/blacklist/demo.py) plus the
    # case decided above. csia: kuaile (listed general, 3 days), hongshan (not listed),
    # xiaoman and feiniao (minor), heiyu (serious), qinglan (general, overturned on
    # appeal); sipa: lanjing (still voting), baiyun (lapsed), jinqiao, tianmu and
    # chenguang (general; chenguang repaired a day after applying); and two apps that
    # are no member: com.xingyun.quickloan (csia, opened 3 days ago, awaiting its answer)
    # and com.mingyue.fitness (sipa, listed general). Each case opened
    # when its fifth complaint was conceded, an hour before the story's moment, and its
    # committee voted two days after that moment: 49 hours, 2.04 days (kuaile: 3.04).
    year = await api.get("/api/v1/blacklist/figures", params={"period": "2026"})
    assert year.status_code == 200
    data = year.json()
    assert data["period"] == {"first": "2026-01", "last": "2026-12", "granularity": "month"}
    rows = data["rows"]
    assert len(rows) == 2 * 3
    assert _figures(_row(rows, csia, "general")) == _want(
        opened=7, listed=2, not_listed=1, appeals=1, appeals_overturned=1, share=1.0, decided=2.04
    )
    assert _figures(_row(rows, csia, "minor")) == _want(listed=2, decided=2.04)
    assert _figures(_row(rows, csia, "serious")) == _want(listed=1, decided=2.04)
    assert _figures(_row(rows, sipa, "general")) == _want(
        opened=6,
        listed=4,
        not_listed=1,
        lapsed=1,
        repairs_applied=1,
        repairs_granted=1,
        decided=2.04,
        delisted=1.0,
    )
    assert _figures(_row(rows, sipa, "minor")) == _want()
    assert _figures(_row(rows, sipa, "serious")) == _want()
    tiers = _by_key(data["by_tier"], "tier")
    assert _counts(tiers["minor"]) == _expected(listed=2)
    assert _counts(tiers["general"]) == _expected(
        opened=13,
        listed=6,
        not_listed=2,
        lapsed=1,
        appeals=1,
        appeals_overturned=1,
        repairs_applied=1,
        repairs_granted=1,
    )
    associations = _by_key(data["by_association"], "association")
    assert _counts(associations[csia]) == _expected(
        opened=7, listed=5, not_listed=1, appeals=1, appeals_overturned=1
    )
    assert _figures(data["total"]) == _want(
        opened=13,
        listed=9,
        not_listed=2,
        lapsed=1,
        appeals=1,
        appeals_overturned=1,
        repairs_applied=1,
        repairs_granted=1,
        share=1.0,
        decided=2.04,
        delisted=1.0,
    )
    assert data["total"]["decisions_timed"] == 10

    # November alone: each step in the month it happened. csia general decisions in
    # November: hongshan (2.04 days) and kuaile (3.04 days), so the median is 2.54.
    november = (await api.get("/api/v1/blacklist/figures?period=2026-11")).json()
    assert _figures(_row(november["rows"], csia, "general")) == _want(
        opened=4, listed=1, not_listed=1, appeals=1, appeals_overturned=1, share=1.0, decided=2.54
    )
    assert _counts(november["total"]) == _expected(
        opened=8,
        listed=5,
        not_listed=2,
        lapsed=1,
        appeals=1,
        appeals_overturned=1,
        repairs_applied=1,
        repairs_granted=1,
    )
    october = (await api.get("/api/v1/blacklist/figures?period=2026-10")).json()
    assert _counts(october["total"]) == _expected(opened=2, listed=1)

    # The signed monthly snapshot freezes them with the public reports, and verifies.
    await services.report_snapshots.freeze(202610)
    document = (await api.get("/api/v1/reports/snapshots/2026-10")).json()
    frozen = document["tables"][-1]
    assert (frozen["kpi"], frozen["rows_by"], frozen["columns_by"]) == (
        "blacklist_figures",
        "association",
        "tier",
    )
    assert _counts(frozen["total"]) == _counts(october["total"])
    verified = verify_snapshot(
        json.dumps(document).encode(), services.ctx.federation_key.public_key
    )
    assert verified.tables == len(document["tables"])

    # CSV through the same figures, and bad input as problem+json.
    as_csv = await api.get("/api/v1/blacklist/figures.csv?period=2026&lang=en")
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.content.startswith("\ufeff".encode())
    lines = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    table = [line for line in lines if not line[0].startswith("#")]
    assert table[0][:4] == ["association", "tier", "cases opened", "listed"]
    assert len(table) == 1 + 6 + 2 + 3 + 1
    assert table[-1][:6] == ["all associations", "all tiers", "13", "9", "2", "1"]
    bad = await api.get("/api/v1/blacklist/figures?period=2026-13")
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")

    # A partner scoped to csia sees csia only, and the query is logged; without a token
    # nothing is served.
    issued = await services.accounts.create_principal_with_token(
        role=Role.GOVERNMENT_PARTNER, display_name="csia regulator"
    )
    await services.reports.grant_partner_scope(issued.token_id, [], [int(csia)])
    auth = {"Authorization": f"Bearer {issued.token}"}
    partner = await api.get("/api/v1/reports/partner/blacklist?period=2026", headers=auth)
    assert partner.status_code == 200
    assert {r["association"]["key"] for r in partner.json()["rows"]} == {csia}
    assert _counts(partner.json()["total"]) == _counts(associations[csia])
    partner_csv = await api.get(
        "/api/v1/reports/partner/blacklist.csv?period=2026&lang=zh", headers=auth
    )
    assert partner_csv.status_code == 200
    assert "上海" not in partner_csv.content.decode("utf-8-sig")
    async with services.ctx.db.read() as session:
        logged = list(await session.scalars(select(ReportAccess.query)))
    assert [q["format"] for q in logged if q.get("report") == "blacklist_figures"] == [
        "json",
        "csv",
    ]
    assert (await api.get("/api/v1/reports/partner/blacklist?period=2026")).status_code == 401

    # Signed in on /partners with that token: the dashboard's blacklist section is csia's.
    csrf_cookie, csrf_field = await sign_in_form(api)
    signed_in = await request(
        api,
        "POST",
        "/partners/sign-in",
        {"partner_csrf": csrf_cookie},
        data={"token": issued.token, "csrf_token": csrf_field},
    )
    cookies = {"partner_session": cookie_value(set_cookie(signed_in, "partner_session"))}
    dashboard = await request(api, "GET", "/partners?lang=en", cookies)
    assert dashboard.status_code == 200
    section = dashboard.text.split('id="blacklist"', 1)[1].split("</section>", 1)[0]
    assert "China Software Industry Association" in section
    assert "Shanghai" not in section
    mine = await request(api, "GET", "/partners/data/blacklist-figures.json", cookies)
    assert mine.status_code == 200
    assert {r["association"]["key"] for r in mine.json()["rows"]} == {csia}

    # /statistics shows the section in both languages, and its downloads.
    for lang, words in (
        ("zh", ("黑名单自身数据", "立案", "轻微", "合计")),
        ("en", ("The blacklist's own figures", "cases opened", "minor", "All")),
    ):
        page = await api.get(f"/statistics?lang={lang}")
        assert page.status_code == 200
        section = page.text.split('id="blacklist"', 1)[1].split("</section>", 1)[0]
        for word in words:
            assert word in section
        assert '<table class="figures-table chart-table" id="blacklist-by-tier">' in section
        assert '<th scope="row">' in section
        assert "<script" not in page.text
        total = section.split("<tfoot>", 1)[1].split("</tfoot>", 1)[0]
        assert "<td>13</td><td>9</td><td>2</td><td>1</td>" in total
    download = await api.get("/statistics/data/blacklist-figures.json")
    assert download.status_code == 200
    assert download.json()["total"]["opened"] == 13
    assert (await api.get("/statistics/data/blacklist-figures.xlsx")).status_code == 404


def test_medians_average_the_middle_pair() -> None:
    row = FigureRow(
        association=None,  # type: ignore[arg-type]
        tier=None,  # type: ignore[arg-type]
        counts=_expected(appeals=3, appeals_overturned=1),
        decision_days=(1.0, 2.0, 4.0, 10.0),
        delist_days=(0.5, 9.0, 30.0),
    )
    assert row.value("decision_median_days") == 3.0
    assert row.value("delist_median_days") == 9.0
    assert row.value("overturned_share") == 0.3333
