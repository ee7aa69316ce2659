"""Batch ingestion in one process, to count its instructions with callgrind.

The machine is shared, so CPU time per envelope moves with the other tenants; the
number of instructions does not. Run the same code with 2 and with 6 batches of 500 and
divide the difference by 2,000 envelopes (setup, imports and signing cancel out):

    for n in 2 6; do valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.$n \\
        .venv/bin/python bench/attestation_instructions.py $n 2>&1 | grep Collected; done
    callgrind_annotate --inclusive=yes /tmp/cg.6 | grep crypto_sign_open   # the signatures

Each batch goes through `AttestationService.submit_batch` exactly as the HTTP handler
calls it (the HTTP layer is left out), with the startup heap frozen as `registry
serve` freezes it. Every envelope must be accepted: a refused one is a MISS and the
run exits non-zero. On PostgreSQL when `REGISTRY_DATABASE_URL` names one (bench/harness.py).
"""

from __future__ import annotations

import asyncio
import gc
import sys
from datetime import UTC
from pathlib import Path

import msgspec
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.attestation_ingest import BATCH_SIZE, _envelopes, _prepare  # noqa: E402
from bench.harness import Outcome, bench_settings, database_label, run  # noqa: E402
from registry.context import RegistryContext  # noqa: E402
from registry.db.session import Database, create_engine  # noqa: E402
from registry.federation.keyring import load_or_create_federation_key  # noqa: E402
from registry.kernel.caller import Caller, Role  # noqa: E402
from registry.kernel.clock import SystemClock  # noqa: E402
from registry.services import Services  # noqa: E402
from registry.settings import Settings  # noqa: E402

VENDORS = 4
BATCHES_SIGNED = 8
"""Always signed, whatever is submitted, so that setup costs the same in every run."""


async def submit(settings: Settings, batches: int) -> Outcome:
    """Sign the batches, then submit the first `batches` of them in this process."""
    vendors = await _prepare(settings, VENDORS)
    issued = SystemClock().now().replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=UTC)
    per_vendor = BATCHES_SIGNED // VENDORS
    bodies: list[tuple[str, bytes]] = []
    for vendor in vendors:
        signed = _envelopes(vendor, per_vendor * BATCH_SIZE, 1, issued)
        for k in range(per_vendor):
            chunk = signed[k * BATCH_SIZE : (k + 1) * BATCH_SIZE]
            bodies.append((vendor[0], b'{"envelopes":[' + b",".join(chunk) + b"]}"))
    ctx = RegistryContext(
        settings=settings,
        db=Database(create_engine(settings)),
        clock=SystemClock(),
        federation_key=load_or_create_federation_key(settings),
    )
    services = Services(ctx)
    refused_count = 0
    try:
        async with ctx.db.read_rows() as connection:
            rows = await connection.execute(text("SELECT slug, id FROM vendor"))
            vendor_ids: dict[str, int] = dict(rows.all())
        gc.collect()
        gc.freeze()
        for slug, body in bodies[:batches]:
            caller = Caller(principal_id=1, role=Role.VENDOR_ADMIN, vendor_id=vendor_ids[slug])
            envelopes = msgspec.json.decode(body)["envelopes"]
            items = await services.attestations.submit_batch(caller, slug, envelopes)
            refused = [item.error for item in items if item.error is not None]
            if refused:
                print(f"  {len(refused)} envelopes refused, e.g. {refused[0]}")
            refused_count += len(refused)
    finally:
        await ctx.db.dispose()
    submitted = min(batches, len(bodies)) * BATCH_SIZE
    return Outcome(
        "batches",
        f"{submitted - refused_count} of {submitted} envelopes accepted on "
        f"{database_label(settings)} (count instructions with callgrind)",
        target_met=True,
        failures=refused_count,
    )


def main() -> list[Outcome]:
    """Submit the number of batches named on the command line (default 2)."""
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    if not 0 <= count <= BATCHES_SIGNED:
        raise SystemExit(f"batches: 0 to {BATCHES_SIGNED}")
    with bench_settings("instr") as settings:
        return [asyncio.run(submit(settings, count))]


if __name__ == "__main__":
    run(main)
