"""A complaint upheld about an unregistered subject: what its blacklist reaction reads.

    .venv/bin/python bench/blacklist_nonmember.py                    # 500k complaints
    .venv/bin/python bench/blacklist_nonmember.py --complaints 1000000 --rounds 20

A mediator upholding a complaint about a domain, app id or credit code that is no member
evaluates that subject at once (`blacklist.evaluate_rules`): it reads which association
governs the subject and the subject's complaints in the longest rule window. The hourly
evaluation reads the same for every unregistered subject complaints named. Both find the
subject's complaints by (subject kind, value).

Setup: a migrated database with `--complaints` rows (half about member vendors, half
about 5,000 unregistered apps), the default rulebook in force, and one app with five real
complaints filed, taken up and upheld through the services (the fifth opens the case).
Measured side by side in one run: the reaction's reads for that app (`--rounds` times,
median) with `ix_complaint_subject`, then with the index dropped. Target: at most 100 ms
with the index; the ratio is printed.

Runs on PostgreSQL when `REGISTRY_DATABASE_URL` names one (bench/harness.py).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from attestations.keys import SigningKey  # noqa: E402
from bench.harness import Outcome, bench_settings, database_label, print_setting, run  # noqa: E402
from registry.blacklist.facts import governing_association, load_facts  # noqa: E402
from registry.blacklist.rules import Subject  # noqa: E402
from registry.blacklist.states import SubjectKind  # noqa: E402
from registry.complaints.filing import ComplaintSubmission  # noqa: E402
from registry.complaints.models import MediationOutcome  # noqa: E402
from registry.context import RegistryContext  # noqa: E402
from registry.db.migrate import upgrade  # noqa: E402
from registry.db.session import Database, create_engine  # noqa: E402
from registry.kernel.caller import Role  # noqa: E402
from registry.kernel.clock import ManualClock  # noqa: E402
from registry.services import Services  # noqa: E402
from registry.settings import Settings  # noqa: E402

TARGET_MS = 100.0
APPS = 5_000
APP_ID = "com.bench.target"
INSERT_CHUNK = 20_000
WINDOW = timedelta(days=365)


async def _insert_complaints(ctx: RegistryContext, start: datetime, count: int) -> None:
    """`count` mediated complaints, half about member vendors and half about `APPS`
    unregistered apps, spread over the past year (setup only, multi-row inserts)."""
    from sqlalchemy import insert, select, text

    from registry.complaints.models import Complaint
    from registry.membership.models import Vendor

    async with ctx.db.read() as session:
        vendors = (await session.execute(select(Vendor.id, Vendor.association_id))).all()

    def row(index: int) -> dict[str, object]:
        filed = start - timedelta(minutes=index % (60 * 24 * 360))
        member = index % 2 == 0
        vendor_id, association_id = vendors[index % len(vendors)]
        return {
            "tracking_code": f"N{index:011d}",
            "secret_hash": "0" * 64,
            "association_id": association_id,
            "vendor_id": vendor_id if member else None,
            "subject_kind": "vendor" if member else "app_id",
            "subject_value": "bench" if member else f"com.bench.app{index % APPS}",
            "product": "会员服务",
            "category": "billing_refund",
            "description": "bench",
            "desired_remedy": "bench",
            "region": "310000",
            "occurred_on": date(2026, 1, 1),
            "language": "zh",
            "status": "mediated",
            "contact_sealed": b"sealed",
            "contact_fingerprint": f"{index:064x}",
            "ip_fingerprint": "f" * 64,
            "consent_to_share": False,
            "escalated_at": filed,
            "mediation_outcome": "upheld",
            "vendor_conceded": False,
            "substantiated": True,
            "duplicates_merged": 0,
            "created_at": filed,
        }

    statement = insert(Complaint.__table__)  # type: ignore[arg-type]
    for first in range(0, count, INSERT_CHUNK):
        async with ctx.db.transaction() as session:
            await session.execute(
                statement, [row(i) for i in range(first, min(count, first + INSERT_CHUNK))]
            )
    async with ctx.db.transaction() as session:
        await session.execute(text("ANALYZE"))


async def _upheld_app(services: Services, clock: ManualClock) -> str:
    """Five complaints about the target app, taken up and upheld: the case opens."""
    issued = await services.accounts.create_principal_with_token(
        role=Role.MEDIATOR, display_name="bench mediator", association_slug="csia"
    )
    mediator = await services.accounts.authenticate(issued.token)
    codes = []
    for i in range(5):
        filed = await services.complaints.consumers.file(
            ComplaintSubmission(
                subject_kind="app_id",
                subject_value=APP_ID,
                product="App",
                category="billing_refund",
                description="bench",
                desired_remedy="bench",
                region="310000",
                occurred_on="2026-11-01",
                contact_name="bench",
                contact_phone=f"1370000{i:04d}",
            ),
            client_ip=f"192.0.2.{i + 1}",
        )
        codes.append(filed.tracking_code)
    clock.advance(timedelta(hours=25))
    for code in codes:
        await services.complaints.mediators.take_up(mediator, code, "")
        await services.complaints.mediators.decide(mediator, code, MediationOutcome.UPHELD, "x")
    opened = await services.blacklist_notice.association_cases(mediator, "csia", None, 0, 5)
    return opened.items[0].reference if opened.items else ""


async def _reads_ms(ctx: RegistryContext, now: datetime, rounds: int) -> float:
    """Median time of the reaction's reads for the target app, in milliseconds."""
    subject = Subject(SubjectKind.APP_ID, APP_ID)
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        async with ctx.db.read() as session:
            await governing_association(session, subject)
            facts = await load_facts(session, subject, None, since=now - WINDOW, at=now)
        times.append((time.perf_counter() - started) * 1000)
        assert len(facts.complaints) == 5
    return statistics.median(times)


async def _measure(settings: Settings, count: int, rounds: int) -> Outcome:
    from sqlalchemy import text

    start = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    clock = ManualClock(start - timedelta(days=31))
    ctx = RegistryContext(settings, Database(create_engine(settings)), clock, SigningKey.generate())
    services = Services(ctx)
    try:
        await upgrade(ctx.db)
        from registry.demo import load_membership_demo

        await load_membership_demo(services)
        await services.blacklist_rules.publish_default_rulebooks()
        clock.set(start)
        await _insert_complaints(ctx, start, count)
        reference = await _upheld_app(services, clock)
        now = clock.now()
        indexed = await _reads_ms(ctx, now, rounds)
        async with ctx.db.transaction() as session:
            await session.execute(text("DROP INDEX ix_complaint_subject"))
        scanned = await _reads_ms(ctx, now, rounds)
    finally:
        await ctx.db.dispose()
    return Outcome(
        "non-member reaction reads",
        f"over {count} complaints ({database_label(settings)}): governing association and "
        f"facts of one app in {indexed:.1f} ms with ix_complaint_subject, {scanned:.1f} ms "
        f"without ({scanned / indexed:.0f}x; median of {rounds}); case opened: "
        f"{reference or 'NONE'} (target <= {TARGET_MS:.0f} ms)",
        indexed <= TARGET_MS and bool(reference),
        failures=0 if reference else 1,
    )


def main() -> list[Outcome]:
    """Run the measurement with the sizes given."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--complaints", type=int, default=500_000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with bench_settings("nonmember") as settings:
        print_setting(settings)
        return [
            asyncio.run(
                _measure(
                    replace(settings, log_origin="bench.trust-registry.example/log"),
                    args.complaints,
                    args.rounds,
                )
            )
        ]


if __name__ == "__main__":
    run(main)
