"""The dependency direction of docs/architecture.md, checked by walking every import."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPOSITION_ROOT = ("registry/app.py", "registry/cli/")
"""Files, and packages (a trailing slash), that wire the services into every edge."""
# package -> packages it must never import
FORBIDDEN = {
    "attestations": {"registry", "member_api", "public_site", "sqlalchemy", "litestar"},
    "registry": {"member_api", "public_site"},
    "member_api": {"public_site"},
    "public_site": {"member_api"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_point_one_way(package: str) -> None:
    """`member_api`, `public_site` -> `registry` -> `attestations`, and nothing back."""
    offenders: list[str] = []
    for path in sorted((ROOT / package).rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(COMPOSITION_ROOT):
            continue
        bad = _imports(path) & FORBIDDEN[package]
        if bad:
            offenders.append(f"{relative} imports {sorted(bad)}")
    assert offenders == []


def test_member_api_resolves_dependencies_one_at_a_time() -> None:
    """Dependencies of one level would be resolved concurrently, in a task group per
    request that costs more than the providers; `member_api.deps` chains them."""
    from litestar.routes import HTTPRoute

    from registry.app import create_app
    from registry.settings import Settings

    app = create_app(Settings(), run_scheduler=False)
    checked = 0
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith("/api/"):
            continue
        for handler, kwargs_model in route.route_handler_map.values():
            for batch in kwargs_model.dependency_batches:
                assert len(batch) == 1, f"{route.path} {handler}: {batch}"
            checked += bool(kwargs_model.dependency_batches)
    assert checked > 10
