"""`registry verify`: a saved entry response is checked offline, and every tampering is named."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from attestations.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint, verifier_key
from attestations.envelope import Envelope, sign_envelope
from attestations.errors import AttestationError
from attestations.keys import SigningKey
from attestations.verify import verify_consistency_between
from registry.cli import main
from registry.membership.models import VendorApplication
from registry.services import Services
from registry.transparency.offline import verify_entry_bundle
from tests.factories import apply_vendor, member_vendor


async def saved_entry(api: httpx.AsyncClient, index: int) -> dict[str, Any]:
    response = await api.get(f"/api/v1/log/entries/{index}")
    assert response.status_code == 200, response.text
    bundle: dict[str, Any] = response.json()
    return bundle


def flip_leaf_byte(bundle: dict[str, Any]) -> None:
    leaf = bytearray(base64.b64decode(bundle["leaf"]))
    leaf[10] ^= 0x01
    bundle["leaf"] = base64.b64encode(bytes(leaf)).decode()


def truncate_tree(bundle: dict[str, Any]) -> None:
    """Claim the proof is for a smaller tree, dropping the last hash."""
    bundle["inclusion_proof"]["tree_size"] -= 1
    bundle["inclusion_proof"]["hashes"].pop()


def drop_proof_hash(bundle: dict[str, Any]) -> None:
    bundle["inclusion_proof"]["hashes"].pop()


def change_proof_hash(bundle: dict[str, Any]) -> None:
    hashes = bundle["inclusion_proof"]["hashes"]
    hashes[0] = base64.b64encode(bytes(32)).decode()


def edit_decoded_entry(bundle: dict[str, Any]) -> None:
    bundle["entry"]["type"] = "key.revoked"


def move_index(bundle: dict[str, Any]) -> None:
    bundle["index"] += 1
    bundle["inclusion_proof"]["leaf_index"] += 1


def forge_checkpoint_root(bundle: dict[str, Any]) -> None:
    """Rewrite the root in the note without the key: the signature no longer covers it."""
    lines = bundle["checkpoint"].split("\n")
    lines[2] = base64.b64encode(bytes(32)).decode()
    bundle["checkpoint"] = "\n".join(lines)


TAMPERINGS: list[tuple[Callable[[dict[str, Any]], None], str]] = [
    (flip_leaf_byte, "calculated root"),
    (truncate_tree, "proof is for a tree of size 3, the checkpoint commits to size 4"),
    (drop_proof_hash, "proof has 1 hashes, a tree of size 4 needs 2 for index 1"),
    (change_proof_hash, "does not match expected root"),
    (edit_decoded_entry, "decoded 'entry' does not match the leaf bytes"),
    (move_index, "calculated root"),
    (forge_checkpoint_root, "does not verify over the note text"),
]


async def test_each_tampering_is_refused_with_its_reason(
    api: httpx.AsyncClient, services: Services, association: str, tmp_path: Path
) -> None:
    await member_vendor(services, association, "tamper-vendor")
    await member_vendor(services, association, "tamper-other")  # 4 entries: index 1 of 4
    bundle = await saved_entry(api, 1)
    assert bundle["inclusion_proof"]["tree_size"] == 4
    vkey = services.log.verifier_key()
    verify_entry_bundle(copy.deepcopy(bundle), vkey)  # untouched, it is valid

    for tamper, reason in TAMPERINGS:
        tampered = copy.deepcopy(bundle)
        tamper(tampered)
        with pytest.raises(AttestationError) as caught:
            verify_entry_bundle(tampered, vkey)
        assert reason in caught.value.reason, tamper.__name__

        # The CLI says the same, on stderr, with exit status 1.
        path = tmp_path / f"{tamper.__name__}.json"
        path.write_text(json.dumps(tampered))
        result = CliRunner().invoke(main, ["verify", "--entry", str(path), "--verifier-key", vkey])
        assert result.exit_code == 1, tamper.__name__
        assert "invalid:" in result.stderr
        assert reason in result.stderr, tamper.__name__
        assert "valid\n" not in result.stdout


async def test_forked_checkpoint_is_caught(services: Services, association: str) -> None:
    """Two checkpoints of one size with different roots, both validly signed: a fork."""
    await apply_vendor(services, association, "fork-vendor")
    honest = await services.log.sign_checkpoint_if_grown()
    assert honest is not None
    forged = sign_checkpoint(
        Checkpoint(services.ctx.settings.log_origin, honest.size, bytes(32)),
        services.ctx.federation_key,
        services.log.key_name,
    )
    with pytest.raises(AttestationError, match="different roots: the log forked"):
        verify_consistency_between(services.log.verifier_key(), honest.note, forged, [])


async def test_cli_verify_reports_what_it_checked(
    api: httpx.AsyncClient, services: Services, association: str, tmp_path: Path
) -> None:
    vendor = await member_vendor(services, association, "cli-vendor")
    entry_path = tmp_path / "entry.json"
    entry_path.write_text((await api.get("/api/v1/log/entries/0")).text)
    key_path = tmp_path / "federation.json"
    key_path.write_text((await api.get("/api/v1/federation/key")).text)
    async with services.ctx.db.read() as session:
        application = await session.get(VendorApplication, vendor.application_id)
    assert application is not None
    envelope_path = tmp_path / "envelope.json"
    envelope_path.write_bytes(application.envelope)
    signer_path = tmp_path / "vendor.pub.json"
    signer_path.write_text(json.dumps(vendor.key.public_key.to_file_dict()))
    federation_public = tmp_path / "federation.pub.json"
    federation_public.write_text(json.dumps(services.ctx.federation_key.public_key.to_file_dict()))
    origin = services.ctx.settings.log_origin

    runner = CliRunner()
    for key_args in (
        ["--public-key", str(key_path)],
        ["--public-key", str(federation_public), "--origin", origin],
        ["--verifier-key", services.log.verifier_key()],
    ):
        result = runner.invoke(
            main,
            [
                "verify",
                "--entry",
                str(entry_path),
                *key_args,
                "--envelope",
                str(envelope_path),
                "--signer-key",
                str(signer_path),
            ],
        )
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith("valid\n")
        assert f"{origin}, tree size 2" in result.stdout
        assert "vendor.application recorded at" in result.stdout
        assert "the given envelope is the one logged" in result.stdout
        assert f"signature   by key {vendor.key.key_id} verifies" in result.stdout

    # An envelope that is not the logged one, a key that did not sign, the wrong log key.
    other = Envelope.from_json(application.envelope)
    stranger = SigningKey.generate()
    other_path = tmp_path / "other.json"
    other_path.write_bytes(sign_envelope(other.payload, [vendor.key, stranger]).to_json())
    stranger_path = tmp_path / "stranger.pub.json"
    stranger_path.write_text(json.dumps(stranger.public_key.to_file_dict()))
    cases = [
        (["--envelope", str(other_path)], "is not the one logged in entry 0"),
        (["--signer-key", str(stranger_path)], "has no signature by key(s)"),
        (["--origin", "elsewhere.example/log"], "is not the expected 'elsewhere.example/log'"),
    ]
    for extra, reason in cases:
        result = runner.invoke(
            main,
            [
                "verify",
                "--entry",
                str(entry_path),
                "--verifier-key",
                services.log.verifier_key(),
                *extra,
            ],
        )
        assert result.exit_code == 1, result.output
        assert reason in result.stderr
    wrong_key = SigningKey.generate()
    result = runner.invoke(
        main,
        [
            "verify",
            "--entry",
            str(entry_path),
            "--verifier-key",
            verifier_key(services.log.key_name, wrong_key.public_key),
        ],
    )
    assert result.exit_code == 1
    assert "note is not signed by" in result.stderr
    checkpoint = open_checkpoint(
        json.loads(entry_path.read_text())["checkpoint"], services.log.verifier_key()
    )
    assert checkpoint.size == 2
