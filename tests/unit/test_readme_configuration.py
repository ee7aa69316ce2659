"""The README's Configuration section names every setting, so it cannot fall behind
the code: each `REGISTRY_*` variable the code reads and each `Settings` field."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

from registry.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _configuration_section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]


def test_every_environment_variable_the_code_reads_is_in_the_readme() -> None:
    read: set[str] = set()
    for package in ("registry", "member_api", "public_site"):
        for path in (ROOT / package).rglob("*.py"):
            read.update(re.findall(r"\"(REGISTRY_[A-Z_]+)\"", path.read_text(encoding="utf-8")))
    assert read, "no REGISTRY_ variable found: the scan is broken"
    section = _configuration_section()
    assert sorted(name for name in read if f"`{name}`" not in section) == []


def test_every_setting_is_in_the_readme() -> None:
    section = _configuration_section()
    documented = set(re.findall(r"`([a-z_]+)`", section))
    # The fields `Settings.from_env` fills stand in the README under their variable.
    environment = {
        keyword.arg
        for node in ast.walk(ast.parse((ROOT / "registry/settings.py").read_text()))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "replace"
        for keyword in node.keywords
    }
    assert "data_dir" in environment
    missing = [
        field.name
        for field in dataclasses.fields(Settings)
        if field.name not in documented and field.name not in environment
    ]
    assert missing == []
