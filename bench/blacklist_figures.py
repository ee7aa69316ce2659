"""The blacklist's own figures at national scale: the public page's query against the
same counts recomputed from the case rows, in the same run.

    .venv/bin/python bench/blacklist_figures.py                 # 20,000 cases, SQLite
    REGISTRY_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test \\
        .venv/bin/python bench/blacklist_figures.py

Writes `--cases` cases over 36 months and 2 associations, every tier and outcome (about
60 % listed, 20 % not listed, 5 % lapsed, the rest open; an appeal against one listing
in ten, a repair application against one in eight), fills `blacklist_rollup` with
`registry reports rebuild`'s code, and times, as the median of 7 runs each:

- the last twelve months' figures through `ReportService.blacklist_figures` (the
  `/statistics` section and `GET /api/v1/blacklist/figures`: rollup sums plus the medians
  read from the case and repair rows): target <= 50 ms;
- the same counts recomputed from every case, listing, appeal and repair row (what
  `registry reports rebuild` reads), for the ratio.

20,000 cases is several years of committee decisions for the whole country. A missed
target prints MISSED and exits 1. Scratch database as every bench (`bench/harness.py`).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from attestations.keys import SigningKey  # noqa: E402
from bench.harness import Outcome, bench_settings, database_label, run  # noqa: E402
from bench.reports import _median_ms as median_ms  # noqa: E402
from registry.blacklist.models import (  # noqa: E402
    Appeal,
    BlacklistCase,
    BlacklistRule,
    Listing,
    Repair,
)
from registry.blacklist.states import (  # noqa: E402
    AppealState,
    CaseState,
    ListingState,
    RepairState,
    SubjectKind,
    Tier,
)
from registry.context import RegistryContext  # noqa: E402
from registry.db.migrate import upgrade  # noqa: E402
from registry.db.session import Database, create_engine  # noqa: E402
from registry.demo import demo_admin  # noqa: E402
from registry.kernel.clock import ManualClock  # noqa: E402
from registry.reports.rollups import case_events, rebuild_blacklist, sum_case_events  # noqa: E402
from registry.reports.tables import Granularity, Period, add_months, month_key  # noqa: E402
from registry.services import Services  # noqa: E402
from registry.settings import Settings  # noqa: E402

NOW = datetime(2026, 12, 3, tzinfo=UTC)
MONTHS = 36
TARGET_MS = 50.0
DAY = timedelta(days=1)


async def _insert(services: Services, count: int) -> None:
    """`count` cases with their listings, appeals and repairs, in one transaction."""
    rng = random.Random(18)
    admin = await demo_admin(services)
    async with services.ctx.db.read() as session:
        rules = list(
            await session.scalars(
                select(BlacklistRule).where(BlacklistRule.rule_id == "complaints-substantiated")
            )
        )
    span = (MONTHS * 30 - 40) * 86_400
    listings = 0
    later: list[Listing | Appeal | Repair] = []
    async with services.ctx.db.transaction() as session:
        for number in range(1, count + 1):
            rule = rng.choice(rules)
            opened = NOW - timedelta(seconds=rng.randrange(40 * 86_400, span))
            roll = rng.random()
            state = (
                CaseState.LISTED
                if roll < 0.6
                else CaseState.NOT_LISTED
                if roll < 0.8
                else CaseState.LAPSED
                if roll < 0.85
                else CaseState.VOTING
            )
            decided = opened + timedelta(hours=rng.randrange(48, 40 * 24))
            case = BlacklistCase(
                id=number,
                reference=f"BL-B-{number:07d}",
                association_id=rule.association_id,
                governance="member",
                subject_kind=SubjectKind.DOMAIN,
                subject_value=f"bench-{number}.cn",
                rule_row_id=rule.id,
                rule_id=rule.rule_id,
                rule_version=rule.version,
                rule_kind=rule.kind,
                tier_proposed=rule.tier_proposed,
                evaluated_at=opened,
                evidence={},
                evidence_digest="0" * 64,
                terms={},
                state=state,
                opened_at=opened,
                answer_due_at=opened + 14 * DAY,
                decided_at=None if state is CaseState.VOTING else decided,
                log_index=number,
                created_at=opened,
            )
            session.add(case)
            if state is not CaseState.LISTED:
                continue
            tier = rng.choice(list(Tier))
            listings += 1
            listing = Listing(
                id=listings,
                case_id=case.id,
                association_id=case.association_id,
                subject_kind=case.subject_kind,
                subject_value=case.subject_value,
                tier=tier,
                rule_id=case.rule_id,
                rule_version=case.rule_version,
                evidence_digest=case.evidence_digest,
                tally={},
                decided_at=decided,
                published_from=decided,
                published_until=decided + 365 * DAY,
                state=ListingState.LISTED,
                log_index=number,
                created_at=decided,
            )
            later.append(listing)
            if rng.random() < 0.1:
                appeal_end = decided + timedelta(days=rng.randrange(5, 40))
                overturned = rng.random() < 0.3
                later.append(
                    Appeal(
                        listing_id=listing.id,
                        case_id=case.id,
                        principal_id=admin.principal_id,
                        grounds="bench",
                        evidence_digests=[],
                        filed_at=decided + DAY,
                        state=AppealState.OVERTURNED if overturned else AppealState.UPHELD,
                        decided_at=appeal_end,
                        log_index=number,
                    )
                )
                if overturned:
                    listing.state, listing.ended_at = ListingState.RETRACTED, appeal_end
                    continue
            if rng.random() < 0.125:
                applied = decided + timedelta(days=rng.randrange(30, 200))
                granted = rng.random() < 0.7
                repaired = applied + timedelta(hours=rng.randrange(24, 30 * 24))
                later.append(
                    Repair(
                        listing_id=listing.id,
                        case_id=case.id,
                        principal_id=admin.principal_id,
                        commitment="bench",
                        changes="bench",
                        remediation_digests=[],
                        applied_at=applied,
                        state=RepairState.GRANTED if granted else RepairState.REFUSED,
                        decision_due_at=applied + 30 * DAY,
                        decided_at=repaired,
                        log_index=number,
                    )
                )
                if granted:
                    listing.state, listing.ended_at = ListingState.REPAIRED, repaired
        # Parents first: cases, then listings, then what refers to a listing.
        await session.flush()
        for kind in (Listing, Appeal, Repair):
            session.add_all([row for row in later if isinstance(row, kind)])
            await session.flush()


async def _measure(settings: Settings, count: int) -> Outcome:
    clock = ManualClock(NOW - MONTHS * 31 * DAY)
    ctx = RegistryContext(settings, Database(create_engine(settings)), clock, SigningKey.generate())
    services = Services(ctx)
    try:
        await upgrade(ctx.db)
        await services.federation.ensure_association("csia", "中国软件行业协会", "CSIA")
        await services.federation.ensure_association("sipa", "上海市软件行业协会", "SIPA")
        await services.blacklist_rules.publish_default_rulebooks()
        clock.set(NOW)
        started = time.perf_counter()
        await _insert(services, count)
        print(f"inserted {count:,} cases in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        steps = await rebuild_blacklist(ctx.db, lambda done, total: None)
        print(f"rollup rebuilt from {steps:,} case steps in {time.perf_counter() - started:.1f} s")
        last = month_key(NOW)
        period = Period(add_months(last, -11), last, Granularity.MONTH)

        async def figures() -> object:
            return await services.reports.blacklist_figures(period)

        async def recomputed() -> object:
            async with ctx.db.read() as session:
                return sum_case_events(await case_events(session))

        figures_ms = await median_ms(figures)
        recomputed_ms = await median_ms(recomputed)
    finally:
        await ctx.db.dispose()
    return Outcome(
        "blacklist figures",
        f"twelve months over {count:,} cases ({database_label(settings)}): {figures_ms:.1f} ms "
        f"(target <= {TARGET_MS:.0f} ms); the counts recomputed from every row "
        f"{recomputed_ms:.1f} ms, {recomputed_ms / figures_ms:.0f}x slower",
        figures_ms <= TARGET_MS,
    )


def main() -> list[Outcome]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=20_000)
    args = parser.parse_args()
    with bench_settings("blacklist-figures") as settings:
        return [asyncio.run(_measure(settings, args.cases))]


if __name__ == "__main__":
    run(main)
