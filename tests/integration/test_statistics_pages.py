"""/statistics and the partner dashboard over HTTP on a demo history: the programme's
KPIs with charts and tables, open data in CSV and JSON; a partner scoped to one province
downloads that province's report (CSV, XLSX, JSON) and sees nothing outside it."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta

import httpx
from openpyxl import load_workbook
from sqlalchemy import func, select

from registry.complaints.models import Complaint
from registry.demo_history import load_complaint_history
from registry.reports.models import ReportAccess
from registry.reports.rollups import rebuild_complaints
from registry.reports.tables import add_months, month_key
from registry.services import Services
from tests.factories import member_vendor
from tests.integration.test_partner_pages import (
    cookie_value,
    government_partner,
    request,
    set_cookie,
    sign_in_form,
)

SVG_CHART = re.compile(r'<img src="data:image/svg\+xml;base64,[A-Za-z0-9+/=]+" alt="[^"]+"')


async def history(services: Services, association: str) -> None:
    """Two associations' vendors and a year of complaints across the provinces."""
    await services.federation.ensure_association("sipa", "上海市软件行业协会", "SIPA")
    await member_vendor(services, association, "stats-a", applied_before=timedelta(days=800))
    await member_vendor(services, "sipa", "stats-b", applied_before=timedelta(days=800))
    await load_complaint_history(
        services.ctx,
        services.complaints.consumers.vault,
        1500,
        improving_association=association,
    )
    await rebuild_complaints(services.ctx.db, lambda done, total: None)


async def complaints_in(services: Services, region_prefix: str) -> int:
    """Complaints filed in the last twelve full months whose region lies in the prefix."""
    now = services.ctx.clock.now()
    last = add_months(month_key(now), -1)
    first = add_months(last, -11)
    async with services.ctx.db.read() as session:
        rows = (await session.execute(select(Complaint.created_at, Complaint.region))).all()
    return sum(
        1
        for at, region in rows
        if first <= month_key(at) <= last and region.startswith(region_prefix)
    )


async def test_statistics_and_a_province_partner(
    api: httpx.AsyncClient, services: Services, association: str
) -> None:
    await history(services, association)

    for lang in ("zh", "en"):
        page = await api.get(f"/statistics?lang={lang}")
        assert page.status_code == 200
        assert len(SVG_CHART.findall(page.text)) >= 6
        assert page.text.count('<table class="chart-table"') == len(SVG_CHART.findall(page.text))
        for kpi in (
            "timeliness",
            "satisfaction",
            "compliance",
            "leak_incidents",
            "first_response_24h",
            "renewal",
        ):
            assert f'id="kpi-{kpi}"' in page.text
        assert "<script" not in page.text
    assert "及时" in (await api.get("/statistics?lang=zh")).text

    public_csv = await api.get("/statistics/data/complaints-by-category.csv?lang=zh")
    assert public_csv.status_code == 200
    assert public_csv.headers["content-type"].startswith("text/csv")
    assert public_csv.content.startswith("\ufeff".encode())
    assert "suppression.version" in public_csv.content.decode("utf-8-sig")
    public_json = await api.get("/statistics/data/kpis-by-month.json")
    assert public_json.status_code == 200
    assert public_json.json()["report"]["audience"] == "public"
    for missing in ("complaints-by-prefecture.csv", "complaints-by-category.xlsx", "nothing.csv"):
        assert (await api.get(f"/statistics/data/{missing}")).status_code == 404

    # A partner scoped to Beijing: its page and its downloads cover Beijing only.
    token = await government_partner(services, "110000")
    csrf_cookie, csrf_field = await sign_in_form(api)
    signed_in = await request(
        api,
        "POST",
        "/partners/sign-in",
        {"partner_csrf": csrf_cookie},
        data={"token": token, "csrf_token": csrf_field},
    )
    session = {"partner_session": cookie_value(set_cookie(signed_in, "partner_session"))}

    dashboard = await request(api, "GET", "/partners?lang=zh", session)
    assert dashboard.status_code == 200
    assert "北京市" in dashboard.text
    assert 'id="chart-complaints-by-prefecture"' in dashboard.text
    assert "上海" not in dashboard.text.split('id="partner-scope"', 1)[1].split("</p>", 1)[0]

    beijing = await complaints_in(services, "11")
    assert beijing > 0
    as_json = await request(api, "GET", "/partners/data/complaints-by-category.json", session)
    assert as_json.status_code == 200
    report = as_json.json()
    assert report["report"]["scope"]["regions"] == ["110000"]
    assert report["report"]["suppression"]["threshold"] == 3
    assert report["tables"][0]["total"] == {"status": "shown", "value": beijing}

    by_prefecture = await request(
        api, "GET", "/partners/data/complaints-by-prefecture.json", session
    )
    keys = {row["key"] for row in by_prefecture.json()["tables"][0]["rows"]}
    assert keys
    assert all(key.startswith("11") for key in keys)

    as_csv = await request(
        api, "GET", "/partners/data/complaints-by-prefecture.csv?lang=zh", session
    )
    assert as_csv.status_code == 200
    text = as_csv.content.decode("utf-8-sig")
    assert "# scope.regions,110000" in text
    assert "上海" not in text
    assert "310000" not in text

    as_xlsx = await request(api, "GET", "/partners/data/complaints-by-category.xlsx", session)
    assert as_xlsx.status_code == 200
    workbook = load_workbook(io.BytesIO(as_xlsx.content), read_only=True)
    assert len(workbook.sheetnames) == 2
    about = {
        row[0]: row[1:] for row in workbook[workbook.sheetnames[0]].iter_rows(values_only=True)
    }
    assert about["scope.regions"][0] == "110000"

    # Every partner query is in the access log; without a session nothing is served.
    async with services.ctx.db.read() as session_db:
        logged = await session_db.scalar(select(func.count()).select_from(ReportAccess))
    assert logged is not None
    assert logged >= 8
    for cookies in ({}, {"partner_session": "trt_forged"}):
        refused = await request(api, "GET", "/partners/data/complaints-by-category.csv", cookies)
        assert refused.status_code == 401
        assert not refused.headers["content-type"].startswith("text/csv")
    assert json.loads(public_json.text)["report"]["scope"]["regions"] == []
