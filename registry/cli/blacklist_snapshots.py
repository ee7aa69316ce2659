"""`registry blacklist verify` and `registry blacklist snapshot`: check signed blacklist
snapshots offline (the federation's public key and the files, nothing else), and sign one
now on the local database. The commands join the `blacklist` group."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from registry.cli.blacklist import blacklist
from registry.cli.running import (
    fail,
    federation_public_key,
    guarded,
    print_json,
    run_with_services,
)
from registry.kernel.clock import SystemClock, isoformat, parse_iso

if TYPE_CHECKING:
    from registry.services import Services

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@blacklist.command("verify")
@click.argument("snapshot", type=FILE)
@click.option(
    "--public-key",
    "public_key_path",
    required=True,
    type=FILE,
    help="the federation's public key (a key file, or the saved GET /api/v1/federation/key)",
)
@click.option(
    "--previous",
    "previous",
    multiple=True,
    type=FILE,
    help="an earlier snapshot to check the serials and the previous-digest chain against "
    "(repeat for several)",
)
@click.option(
    "--now",
    "now_text",
    default=None,
    help="ISO 8601 instant to judge staleness at (e.g. 2027-01-15T00:00:00Z); default: now",
)
def verify(
    snapshot: Path, public_key_path: Path, previous: tuple[Path, ...], now_text: str | None
) -> None:
    """Check a blacklist snapshot offline: the federation's signature, the payload type,
    serials and the previous-digest chain across the snapshots given, staleness."""
    from registry.blacklist.snapshots import SnapshotInvalid, verify_chain

    key = federation_public_key(public_key_path)
    try:
        now = parse_iso(now_text) if now_text else SystemClock().now()
    except ValueError:
        fail(f"--now must be an ISO 8601 time with a zone, not {now_text!r}")
    try:
        head, earlier = verify_chain(
            snapshot.read_bytes(), [path.read_bytes() for path in previous], key, now
        )
    except SnapshotInvalid as exc:
        fail(f"blacklist snapshot does NOT verify: {exc.reason}")
    chain = f"; chained to {', '.join(str(s.serial) for s in earlier)}" if earlier else ""
    click.echo(
        f"OK: blacklist snapshot {head.serial}, {head.entries} listings in force, signed by "
        f"{head.key_id} at {head.issued_at}; fresh until {head.next_update}{chain}"
    )


@blacklist.command("snapshot")
def snapshot() -> None:
    """Sign a blacklist snapshot now on the local database (the job does it daily and
    every change does it at once); prints its serial and payload digest."""

    async def work(services: Services) -> dict[str, object]:
        head = await services.blacklist_snapshots.make()
        if head is None:  # a daily snapshot is always made
            fail("no snapshot was made")
        return {
            "serial": head.serial,
            "digest": head.digest,
            "issued_at": isoformat(head.issued_at),
            "next_update": isoformat(head.next_update),
        }

    print_json(guarded(lambda: run_with_services(work)))
