"""`registry badge verify`: offline check of a token against a saved federation key."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from attestations.badge_token import BadgeClaims, sign_badge_token
from attestations.keys import SigningKey
from registry.cli import main

KEY = SigningKey.generate()


def token(*, hours: float = 24, state: str = "active", level: int | None = 2) -> str:
    """A token issued a minute ago by KEY."""
    issued = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    return sign_badge_token(
        BadgeClaims(
            issuer="trust-registry.example/log",
            key_id=KEY.key_id,
            vendor="yunzhan-cloud",
            state=state,
            level=level,
            valid_until=issued + timedelta(days=300),
            log_index=42,
            issued_at=issued,
            expires=issued + timedelta(hours=hours),
        ),
        KEY,
    )


def test_verify_with_saved_federation_key(tmp_path: Path) -> None:
    """The saved /api/v1/federation/key answer verifies the token; claims are printed."""
    key_file = tmp_path / "federation-key.json"
    key_file.write_text(json.dumps({"public_key": KEY.public_key.to_base64()}))
    result = CliRunner().invoke(
        main,
        ["badge", "verify", token(), "--public-key", str(key_file), "--vendor", "yunzhan-cloud"],
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("valid\n")
    claims = json.loads(result.output.split("\n", 1)[1])
    assert claims["certified"] is True
    assert claims["log_index"] == 42


def test_forged_expired_or_misdirected_tokens_exit_1(tmp_path: Path) -> None:
    """Another key, an expired token or another vendor: exit 1 with the reason."""
    other = tmp_path / "other.pub.json"
    other.write_text(json.dumps(SigningKey.generate().public_key.to_file_dict()))
    own = tmp_path / "own.pub.json"
    own.write_text(json.dumps(KEY.public_key.to_file_dict()))
    runner = CliRunner()
    forged = runner.invoke(main, ["badge", "verify", token(), "--public-key", str(other)])
    assert forged.exit_code == 1
    assert "does not verify" in forged.output
    expired = runner.invoke(main, ["badge", "verify", token(hours=0.01), "--public-key", str(own)])
    assert expired.exit_code == 1
    assert "expired" in expired.output
    elsewhere = runner.invoke(
        main, ["badge", "verify", token(), "--public-key", str(own), "--vendor", "someone-else"]
    )
    assert elsewhere.exit_code == 1
    assert "not 'someone-else'" in elsewhere.output
    neither = runner.invoke(main, ["badge", "verify", token()])
    assert neither.exit_code == 2
