"""`registry partners …`: operator commands for government partners' sign-in."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from attestations.errors import AttestationError
from attestations.keys import load_public_key
from registry.cli.running import guarded, run_with_services

if TYPE_CHECKING:
    from registry.services import Services


@click.group()
def partners() -> None:
    """Government partners: the keys they sign in with."""


@partners.command("add-key")
@click.option("--token", required=True, envvar="REGISTRY_TOKEN", help="the partner's token")
@click.option(
    "--public-key",
    "public_key_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="the partner's public key file (from `registry keys generate`)",
)
def add_key(token: str, public_key_path: Path) -> None:
    """Register a public key for the partner holding TOKEN, so it can sign in on /partners
    by signing a challenge; prints the key id."""
    try:
        public_key = load_public_key(public_key_path)
    except AttestationError as exc:
        raise click.ClickException(f"{public_key_path}: {exc}") from exc

    async def work(services: Services) -> str:
        return await services.accounts.register_principal_key(token, public_key)

    click.echo(guarded(lambda: run_with_services(work)))
