"""Offline tools: keys, signing and verification that need no database and no server.

They work on files a person holds (keys, statements, saved log entries, badge tokens),
so anyone can check the registry's answers without trusting it; `badge verify --url`
only fetches the federation key.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from attestations.canonical import parse_json
from attestations.envelope import PAYLOAD_TYPE_INTOTO, sign_envelope
from attestations.errors import AttestationError
from attestations.keys import SigningKey, load_signing_key
from registry.cli.running import (
    call,
    client_error_message,
    fail,
    guarded,
    print_json,
    unreachable_message,
)
from registry.client import RegistryClientError
from registry.kernel.clock import SystemClock


@click.command("generate")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def keys_generate(out: Path) -> None:
    """Write a new private key file (mode 0600) and print its key id."""
    if out.exists():
        fail(f"{out} exists; choose another file name")
    key = SigningKey.generate()
    key.save(out)
    public_path = out.with_suffix(".pub.json")
    public_path.write_text(json.dumps(key.public_key.to_file_dict(), indent=2) + "\n")
    click.echo(f"key id {key.key_id}\nprivate key {out} (keep it secret)\npublic key {public_path}")


@click.command()
@click.option("--key", "key_path", required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--in", "in_path", required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--out", "out_path", type=click.Path(path_type=Path), help="default: stdout")
@click.option("--payload-type", default=PAYLOAD_TYPE_INTOTO, show_default=True)
def sign(key_path: Path, in_path: Path, out_path: Path | None, payload_type: str) -> None:
    """Wrap a JSON statement file into a DSSE envelope signed with KEY."""
    from attestations.canonical import canonicalize

    def work() -> str:
        statement = parse_json(in_path.read_bytes())
        envelope = sign_envelope(
            canonicalize(statement), [load_signing_key(key_path)], payload_type
        )
        return json.dumps(envelope.to_dict(), indent=2)

    text = guarded(work)
    if out_path is None:
        click.echo(text)
    else:
        out_path.write_text(text + "\n")
        click.echo(f"wrote {out_path}")


# --- transparency log -----------------------------------------------------------------


def _verifier_key_option(
    verifier_key: str | None, public_key_path: Path | None, origin: str | None
) -> str:
    """The C2SP verifier key from `--verifier-key`, or from `--public-key` and `--origin`.

    A public key file may be a registry key file or the saved answer of
    GET /api/v1/federation/key (which names its verifier key and origin).
    """
    from attestations.checkpoint import verifier_key as make_verifier_key
    from attestations.errors import KeyFormatError
    from attestations.keys import load_public_key

    if verifier_key and public_key_path:
        raise click.UsageError("give --verifier-key or --public-key, not both")
    if verifier_key:
        return verifier_key.strip()
    if public_key_path is None:
        raise click.UsageError("give the federation key: --verifier-key or --public-key FILE")
    try:
        public_key = load_public_key(public_key_path)
    except KeyFormatError:
        document = parse_json(public_key_path.read_bytes())
        if isinstance(document, dict) and isinstance(document.get("verifier_key"), str):
            return str(document["verifier_key"])
        raise
    if not origin:
        raise click.UsageError("--public-key needs --origin, the log origin (its key name)")
    return make_verifier_key(origin, public_key)


@click.command()
@click.option(
    "--entry",
    "entry_path",
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="saved answer of GET /api/v1/log/entries/{index}",
)
@click.option("--verifier-key", default=None, help="C2SP verifier key of the federation")
@click.option(
    "--public-key",
    "public_key_path",
    type=click.Path(exists=True, path_type=Path),
    help="federation public key file (with --origin)",
)
@click.option("--origin", default=None, help="log origin; pins the checkpoint's origin line")
@click.option(
    "--envelope",
    "envelope_path",
    type=click.Path(exists=True, path_type=Path),
    help="a DSSE envelope that must be the one logged in the entry",
)
@click.option(
    "--signer-key",
    "signer_key_paths",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="public key file that must have signed the envelope; repeat for each",
)
def verify(
    entry_path: Path,
    verifier_key: str | None,
    public_key_path: Path | None,
    origin: str | None,
    envelope_path: Path | None,
    signer_key_paths: tuple[Path, ...],
) -> None:
    """Check a log entry, its inclusion proof and signed checkpoint offline.

    Prints "valid" and what was checked, or exits 1 with the reason it is not.
    """
    from attestations.envelope import Envelope
    from attestations.keys import b64encode, load_public_key
    from registry.transparency.offline import verify_entry_bundle

    try:
        key = _verifier_key_option(verifier_key, public_key_path, origin)
        bundle = parse_json(entry_path.read_bytes())
        envelope = Envelope.from_json(envelope_path.read_bytes()) if envelope_path else None
        signers = [load_public_key(path) for path in signer_key_paths]
        result = verify_entry_bundle(
            bundle, key, origin=origin, envelope=envelope, signer_keys=signers
        )
    except AttestationError as exc:
        click.secho(f"invalid: {exc.reason}", fg="red", err=True)
        sys.exit(1)
    checkpoint = result.checkpoint
    click.echo("valid")
    click.echo(
        f"  checkpoint  {checkpoint.origin}, tree size {checkpoint.size}, "
        f"root {b64encode(checkpoint.root_hash)}, signed by {result.signer}"
    )
    click.echo(
        f"  inclusion   leaf {result.index} (leaf hash {result.leaf_hash.hex()}) is in that "
        f"tree, by {result.proof_length} proof hashes"
    )
    vendor = result.entry.get("vendor")
    click.echo(
        f"  entry       {result.entry.get('type')} recorded at {result.entry.get('recorded_at')}"
        + (f" for vendor {vendor}" if vendor else "")
    )
    if result.envelope_digest is not None:
        which = "the given envelope is the one logged" if envelope else "the logged envelope"
        click.echo(f"  envelope    {which} (sha256 {result.envelope_digest})")
    for key_id in result.envelope_signers:
        click.echo(f"  signature   by key {key_id} verifies")


# --- badges ---------------------------------------------------------------------------


@click.group()
def badge() -> None:
    """Signed badge tokens."""


@badge.command("verify")
@click.argument("token")
@click.option(
    "--public-key",
    "public_key_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="federation public key: a key file or the saved answer of /api/v1/federation/key",
)
@click.option("--url", default=None, help="fetch the federation key from this registry instead")
@click.option("--vendor", default=None, help="also require the token to be about this vendor")
def badge_verify(
    token: str, public_key_path: Path | None, url: str | None, vendor: str | None
) -> None:
    """Check a badge token's signature and lifetime offline; print what it states.

    Exit 0 when the token is genuine and current (whether or not the vendor is
    certified: read the `certified` line); 1 when it is forged, expired or malformed.
    """
    import httpx

    from attestations.badge_token import verify_badge_token
    from attestations.keys import PublicKey

    if (public_key_path is None) == (url is None):
        raise click.UsageError("give exactly one of --public-key FILE or --url URL")
    try:
        if public_key_path is not None:
            public_key = _federation_public_key_file(public_key_path)
        else:
            public_key = PublicKey.from_base64(
                call(str(url), None, "GET", "/api/v1/federation/key")["public_key"]
            )
        claims = verify_badge_token(token, public_key, SystemClock().now())
    except RegistryClientError as exc:
        fail(client_error_message(exc))
    except httpx.TransportError as exc:
        fail(unreachable_message(exc))
    except AttestationError as exc:
        click.secho(f"invalid: {exc.reason}", fg="red", err=True)
        sys.exit(1)
    if vendor is not None and claims.vendor != vendor:
        click.secho(
            f"invalid: the token is about {claims.vendor!r}, not {vendor!r}", fg="red", err=True
        )
        sys.exit(1)
    click.echo("valid")
    print_json(claims.to_dict())


def _federation_public_key_file(path: Path) -> Any:
    """A public key from a key file, or from a saved /api/v1/federation/key answer."""
    from attestations.keys import PublicKey, load_public_key

    try:
        return load_public_key(path)
    except AttestationError:
        document = parse_json(path.read_bytes())
        if isinstance(document, dict) and isinstance(document.get("public_key"), str):
            return PublicKey.from_base64(document["public_key"])
        raise
