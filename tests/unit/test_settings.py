"""Every setting is read in one place, `registry.settings.Settings`, secrets included."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from attestations.keys import SigningKey, b64encode
from registry.federation.keyring import load_or_create_federation_key
from registry.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_only_the_settings_module_reads_the_environment() -> None:
    """Nothing in the application packages reads `os.environ` beside `Settings.from_env`,
    so a setting cannot exist that the Configuration table and the tests do not see."""
    readers = [
        str(path.relative_to(ROOT))
        for package in ("registry", "member_api", "public_site")
        for path in (ROOT / package).rglob("*.py")
        if path != ROOT / "registry" / "settings.py"
        and re.search(r"os\.environ|getenv\(", path.read_text(encoding="utf-8"))
    ]
    assert readers == []


def test_federation_key_from_the_environment_goes_through_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """REGISTRY_FEDERATION_KEY becomes `federation_key_seed`, which wins over the key file
    and never shows in the settings' repr."""
    key = SigningKey.generate()
    seed = b64encode(key.seed)
    monkeypatch.setenv("REGISTRY_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("REGISTRY_FEDERATION_KEY", seed)
    settings = Settings.from_env()
    assert settings.federation_key_seed == seed
    assert seed not in repr(settings)
    assert load_or_create_federation_key(settings).key_id == key.key_id
    assert not (settings.keys_dir / "federation.key").exists()
    monkeypatch.delenv("REGISTRY_FEDERATION_KEY")
    from_file = load_or_create_federation_key(Settings.from_env())
    assert from_file.key_id != key.key_id
    assert (settings.keys_dir / "federation.key").exists()
