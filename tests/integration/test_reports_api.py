"""Reports end to end, on both databases: complaints handled through the real services
move the rollups in their own transactions; a partner scoped to one province reads that
province (JSON, CSV, XLSX) and nothing else, and every query lands in the access log; the
public sees the same figures with k = 10; a monthly snapshot verifies offline and a
tampered table does not."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from registry.complaints.filing import ComplaintSubmission
from registry.complaints.messages import ComplaintInvalid
from registry.kernel.caller import Role
from registry.kernel.clock import ManualClock
from registry.reports.rollups import naive_complaint_counts, rollup_complaint_counts
from registry.reports.snapshots import SnapshotInvalid, verify_snapshot
from registry.reports.tables import Audience, Dimension, Period, Scope
from registry.services import Services
from tests.factories import member_vendor


async def _handled(
    services: Services, slug: str, token: str, region: str, *, count: int, first: int
) -> None:
    """`count` complaints from `region`, answered, resolved, accepted and rated."""
    vendor = await services.accounts.authenticate(token)
    for index in range(first, first + count):
        filed = await services.complaints.consumers.file(
            ComplaintSubmission(
                vendor=slug,
                product="会员",
                category="billing_refund",
                description="重复扣费",
                desired_remedy="退款",
                region=region,
                occurred_on="2026-11-20",
                contact_name="周敏",
                contact_phone=f"13700000{index:03d}",
                consent_to_share=True,
            ),
            client_ip=f"192.0.2.{index}",
        )
        assert filed.secret is not None
        await services.complaints.vendors.acknowledge(vendor, filed.tracking_code, "收到")
        await services.complaints.vendors.propose_resolution(
            vendor, filed.tracking_code, "已退款", concede=True
        )
        await services.complaints.consumers.accept(filed.tracking_code, filed.secret)
        await services.complaints.consumers.rate(filed.tracking_code, filed.secret, 5, "")


async def _partner_token(services: Services, *regions: str) -> str:
    """As `registry admin create-token --role government_partner --region …` does."""
    scope = await services.reports.check_partner_scope(regions, [])
    issued = await services.accounts.create_principal_with_token(
        role=Role.GOVERNMENT_PARTNER, display_name="市场监管局"
    )
    await services.reports.grant_partner_scope(issued.token_id, *scope)
    return issued.token


async def test_rollups_follow_the_complaint_services_and_regions_are_checked(
    services: Services, association: str
) -> None:
    vendor = await member_vendor(services, association, "report-flow")
    await _handled(services, vendor.slug, vendor.token, "320500", count=4, first=0)
    async with services.ctx.db.read() as session:
        assert await rollup_complaint_counts(session) == await naive_complaint_counts(session)
    report = await services.reports.report(
        scope=Scope(regions=frozenset({"320000"})),
        kpis=["complaints", "satisfaction", "resolution_rate"],
        period=Period.parse("2026-11"),
        dimensions=[Dimension.PREFECTURE],
        audience=Audience.FEDERATION,
    )
    complaints = report.tables[0]
    suzhou = [label.key for label in complaints.rows].index("320500")
    assert complaints.row_totals[suzhou].value == 4
    assert complaints.total.value == 4
    assert report.suppression_version
    with pytest.raises(ComplaintInvalid):
        await services.complaints.consumers.file(
            ComplaintSubmission(
                vendor=vendor.slug,
                product="会员",
                category="billing_refund",
                description="重复扣费",
                desired_remedy="退款",
                region="329999",
                occurred_on="2026-11-20",
                contact_name="周敏",
                contact_phone="13799999999",
                consent_to_share=True,
            ),
            client_ip="192.0.2.200",
        )


async def test_partner_sees_its_province_only_and_every_query_is_logged(  # noqa: PLR0917 - fixtures
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    role_tokens: dict[Role, str],
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    vendor = await member_vendor(services, association, "report-api")
    await _handled(services, vendor.slug, vendor.token, "320000", count=4, first=0)
    await _handled(services, vendor.slug, vendor.token, "110105", count=3, first=10)
    partner = {"Authorization": f"Bearer {await _partner_token(services, '320000')}"}
    admin = {"Authorization": f"Bearer {role_tokens[Role.FEDERATION_ADMIN]}"}
    query = {"kpi": ["complaints", "satisfaction"], "period": "2026-11", "by": ["province"]}

    answer = await api.get("/api/v1/reports/partner", params=query, headers=partner)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    complaints = body["tables"][0]
    assert [row["key"] for row in complaints["rows"]] == ["320000"]
    assert complaints["total"] == {"status": "shown", "value": 4}
    assert body["report"]["scope"]["regions"] == ["320000"]
    assert body["report"]["suppression"]["threshold"] == 3

    outside = await api.get(
        "/api/v1/reports/partner", params={**query, "region": "110000"}, headers=partner
    )
    assert outside.status_code == 403
    assert outside.headers["content-type"].startswith("application/problem+json")

    csv_answer = await api.get(
        "/api/v1/reports/partner.csv", params={**query, "lang": "zh"}, headers=partner
    )
    assert csv_answer.status_code == 200
    assert csv_answer.content.startswith("\ufeff".encode())
    text = csv_answer.content.decode("utf-8-sig")
    assert "江苏省" in text
    assert "北京" not in text
    assert "cox-cycle-1" in text

    xlsx_answer = await api.get("/api/v1/reports/partner.xlsx", params=query, headers=partner)
    assert xlsx_answer.status_code == 200
    workbook = load_workbook(io.BytesIO(xlsx_answer.content))
    about = list(workbook.worksheets[0].iter_rows(values_only=True))
    assert ("suppression.version", "cox-cycle-1") in [tuple(r[:2]) for r in about]
    sheet_rows = list(workbook.worksheets[1].iter_rows(values_only=True))
    assert sheet_rows[1][0] == "江苏省"
    assert all(row[0] != "北京市" for row in sheet_rows)

    public = await api.get("/api/v1/reports/public", params=query)
    assert public.status_code == 200
    public_complaints = public.json()["tables"][0]
    jiangsu = [row["key"] for row in public_complaints["rows"]].index("320000")
    assert public_complaints["row_totals"][jiangsu] == {"status": "suppressed_primary"}

    refused = await api.get("/api/v1/reports/partner", params=query)
    assert refused.status_code == 401
    bad = await api.get("/api/v1/reports/public", params={**query, "period": "2026-13"})
    assert bad.status_code in {400, 422}
    assert bad.headers["content-type"].startswith("application/problem+json")

    log = await api.get("/api/v1/reports/access-log", headers=admin)
    assert log.status_code == 200
    formats = [entry["query"]["format"] for entry in log.json()]
    assert formats == ["xlsx", "csv", "json"]  # the refused query read nothing, logged nothing
    assert (await api.get("/api/v1/reports/access-log", headers=partner)).status_code == 403

    # The scheduled job on December 1st freezes November; a repeat does nothing.
    clock.set(datetime(2026, 12, 1, 0, 5, tzinfo=UTC))
    frozen = await services.report_snapshots.freeze_previous_month()
    assert frozen is not None
    assert frozen.serial == 1
    assert await services.report_snapshots.freeze_previous_month() is None
    listing = (await api.get("/api/v1/reports/snapshots")).json()
    assert [(s["serial"], s["period"]) for s in listing] == [(1, "2026-11")]
    document = (await api.get("/api/v1/reports/snapshots/2026-11")).json()
    raw = json.dumps(document).encode()
    verified = verify_snapshot(raw, services.ctx.federation_key.public_key)
    assert (verified.serial, verified.period) == (1, "2026-11")
    assert verified.next_update.startswith("2027-01-01")
    assert (await api.get("/api/v1/reports/snapshots/2026-10")).status_code == 404

    tampered = json.loads(raw)
    tampered["tables"][1]["total"] = {"status": "shown", "value": 3}
    with pytest.raises(SnapshotInvalid, match="does not match its signed digest"):
        verify_snapshot(json.dumps(tampered).encode(), services.ctx.federation_key.public_key)

    second = await services.report_snapshots.freeze(202610)
    assert second.serial == 2

    from registry.cli import main

    snapshot_file = tmp_path / "snapshot.json"
    key_file = tmp_path / "federation-key.json"
    snapshot_file.write_bytes(raw)
    key_file.write_text((await api.get("/api/v1/federation/key")).text, encoding="utf-8")
    runner = CliRunner()
    ok = runner.invoke(
        main, ["reports", "verify", str(snapshot_file), "--public-key", str(key_file)]
    )
    assert ok.exit_code == 0, ok.output
    assert "OK: snapshot 1 of 2026-11" in ok.output
    snapshot_file.write_text(json.dumps(tampered), encoding="utf-8")
    failed = runner.invoke(
        main, ["reports", "verify", str(snapshot_file), "--public-key", str(key_file)]
    )
    assert failed.exit_code == 1
    assert "does NOT verify" in failed.output


async def test_certificates_feed_the_vendor_rollup_and_compliance(
    services: Services, association: str
) -> None:
    from sqlalchemy import select

    from registry.reports.models import VendorRollup
    from registry.reports.rollups import rebuild_vendors
    from registry.reports.tables import month_key
    from tests.factories import vendor_in_state

    # Expired first: its expiry run would expire a certificate granted at the same moment.
    await vendor_in_state(services, association, "report-expired", "expired")
    await vendor_in_state(services, association, "report-active", "active")
    now = services.ctx.clock.now()
    async with services.ctx.db.read() as session:
        rows = {
            row.month: (row.granted, row.due, row.expired, row.renewed_before_expiry)
            for row in await session.scalars(select(VendorRollup))
        }
    granted_month = month_key(now)
    assert rows[granted_month][0] == 2
    # `registry reports rebuild` recomputes the same rows from the stored history.
    await rebuild_vendors(services.ctx.db)
    async with services.ctx.db.read() as session:
        rebuilt = {
            row.month: (row.granted, row.due, row.expired, row.renewed_before_expiry)
            for row in await session.scalars(select(VendorRollup))
        }
    assert rebuilt == rows
    expired_months = [m for m, values in rows.items() if values[2] == 1]
    assert len(expired_months) == 1
    assert rows[expired_months[0]][1] == 1  # fell due that month, not renewed
    counts = await services.reports.compliance_counts(
        Scope(), Period(granted_month, granted_month), (Dimension.ASSOCIATION, None)
    )
    assert counts is not None
    assert sum(cell["certified"] for cell in counts.values()) == 1
    assert sum(cell["compliant"] for cell in counts.values()) == 1
    past = await services.reports.compliance_counts(
        Scope(), Period(202301, 202301), (Dimension.ASSOCIATION, None)
    )
    assert past is None  # past states are not kept: not applicable


async def test_a_partner_scoped_to_an_association_sees_that_association_only(
    services: Services, association: str
) -> None:
    from registry.errors import PermissionDenied
    from registry.kernel.caller import Caller

    other = await services.federation.ensure_association("other-assoc", "另一协会", "Other")
    mine = await member_vendor(services, association, "scope-mine")
    theirs = await member_vendor(services, "other-assoc", "scope-theirs")
    await _handled(services, mine.slug, mine.token, "320000", count=3, first=0)
    await _handled(services, theirs.slug, theirs.token, "320000", count=3, first=20)
    scope = await services.reports.check_partner_scope([], [association])
    issued = await services.accounts.create_principal_with_token(
        role=Role.GOVERNMENT_PARTNER, display_name="行业主管部门"
    )
    await services.reports.grant_partner_scope(issued.token_id, *scope)
    caller = await services.accounts.authenticate(issued.token)
    assert isinstance(caller, Caller)
    report = await services.reports.partner_report(
        caller,
        kpis=["complaints"],
        period=Period.parse("2026-11"),
        dimensions=[Dimension.ASSOCIATION],
    )
    table = report.tables[0]
    assert [label.key for label in table.rows] == [str(scope[1][0])]
    assert str(other.id) not in [label.key for label in table.rows]
    assert table.total.value == 3  # the other association's three are not in it
    vendor = await services.accounts.authenticate(mine.token)
    with pytest.raises(PermissionDenied):
        await services.reports.partner_report(
            vendor,
            kpis=["complaints"],
            period=Period.parse("2026-11"),
            dimensions=[Dimension.ASSOCIATION],
        )


async def test_create_token_scopes_a_government_partner_and_refuses_a_bad_region(
    services: Services,
) -> None:
    from sqlalchemy import func, select

    from registry.accounts.models import Principal
    from tests.cli import operator_env, run_cli

    minted = await run_cli(
        ["admin", "create-token", "--role", "government_partner", "--region", "320000"],
        operator_env(services),
    )
    assert minted.exit_code == 0, minted.output
    caller = await services.accounts.authenticate(minted.stdout.strip())
    assert await services.reports.partner_scope(caller) == Scope(regions=frozenset({"320000"}))

    async with services.ctx.db.read() as session:
        before = await session.scalar(select(func.count()).select_from(Principal))
    refused = await run_cli(
        ["admin", "create-token", "--role", "government_partner", "--region", "329999"],
        operator_env(services),
    )
    assert refused.exit_code == 1
    assert "329999" in refused.output
    async with services.ctx.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Principal)) == before


async def test_an_upgraded_deployment_gets_its_empty_rollups_filled(
    services: Services, association: str, clock: ManualClock
) -> None:
    """0015_reports and 0018_blacklist_figures created the rollups empty; `registry db
    upgrade` (and `serve`) fill them from the complaints and blacklist cases already there,
    say so, and leave filled rollups alone."""
    from datetime import timedelta

    from sqlalchemy import delete

    from registry.reports.models import (
        BlacklistDuration,
        BlacklistRollup,
        ComplaintFact,
        ComplaintRollup,
    )
    from registry.reports.rollups import rollup_blacklist_counts
    from tests.cli import operator_env, run_cli
    from tests.integration.test_blacklist_cases import conceded_complaints

    vendor = await member_vendor(services, association, "report-backfill")
    await _handled(services, vendor.slug, vendor.token, "440305", count=3, first=60)
    # A blacklist case opened by the real rules over five conceded complaints.
    await conceded_complaints(services, vendor, 5, 3)
    await services.blacklist_rules.publish_default_rulebooks()
    clock.advance(timedelta(days=31))
    assert len((await services.blacklist_rules.evaluate()).opened) == 1
    async with services.ctx.db.read() as session:
        kept = await rollup_complaint_counts(session)
        kept_cases = await rollup_blacklist_counts(session)
    assert kept
    assert kept_cases
    # As an existing deployment stood right after migrating to 0015_reports and 0018.
    async with services.ctx.db.transaction() as session:
        for table in (ComplaintFact, ComplaintRollup, BlacklistRollup, BlacklistDuration):
            await session.execute(delete(table))
    async with services.ctx.db.read() as session:
        assert await rollup_complaint_counts(session) == {}
        assert await rollup_blacklist_counts(session) == {}

    upgraded = await run_cli(["db", "upgrade"], env=operator_env(services))
    assert upgraded.exit_code == 0, upgraded.output
    assert "report rollups were empty: rebuilt from 8 complaints" in upgraded.output
    assert "and 1 blacklist case steps" in upgraded.output
    async with services.ctx.db.read() as session:
        assert await rollup_complaint_counts(session) == kept
        assert kept == await naive_complaint_counts(session)
        assert await rollup_blacklist_counts(session) == kept_cases

    again = await run_cli(["db", "upgrade"], env=operator_env(services))
    assert again.exit_code == 0, again.output
    assert "rollups were empty" not in again.output
