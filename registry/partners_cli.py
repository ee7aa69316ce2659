"""`registry partners …`: operator commands for government partners' sign-in."""

from __future__ import annotations

from pathlib import Path

import click

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
def partners_add_key(token: str, public_key_path: Path) -> None:
    """Register a public key for the partner holding TOKEN, so it can sign in on /partners
    by signing a challenge; prints the key id."""
    from attestations.keys import load_public_key
    from registry.cli import guarded, run_with_services

    public_key = guarded(lambda: load_public_key(public_key_path))

    async def work(services: Services) -> str:
        return await services.accounts.register_principal_key(token, public_key)

    click.echo(guarded(lambda: run_with_services(work)))
