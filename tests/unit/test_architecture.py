"""The dependency direction of docs/architecture.md, checked by walking every import."""

from __future__ import annotations

import ast
import importlib
import re
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


# --- the layers inside registry/ ------------------------------------------------------

AGGREGATES = frozenset(
    {
        "accounts",
        "blacklist",
        "certification",
        "complaints",
        "federation",
        "keys",
        "membership",
        "notifications",
        "reports",
        "transparency",
    }
)
"""One package per aggregate; each module belongs to its aggregate's layer."""

KERNEL_MODULES = frozenset(
    {
        "registry",
        "registry.client_address",
        "registry.context",
        "registry.datadir",
        "registry.db",
        "registry.db.base",
        "registry.db.bulk",
        "registry.db.session",
        "registry.db.sqlite_inline",
        "registry.errors",
        "registry.events",
        "registry.logs",
        "registry.outbound",
        "registry.pagination",
        "registry.public_cache",
        "registry.rate_limits",
        "registry.scheduling_lease",
        "registry.settings",
        "registry.signed_statements",
    }
)
"""Besides the `registry.kernel` package: the infrastructure every aggregate stands on
(settings, database and unit of work, events, errors, outbound HTTP, signed statements).
`registry.clock` is the old name of `registry.kernel.clock`, kept for branches in flight."""

ROOT_MODULES = frozenset(
    {
        "registry.app",
        "registry.cli",
        "registry.client",
        "registry.db.check",
        "registry.db.migrate",
        "registry.demo",
        "registry.demo_history",
        "registry.models",
        "registry.scheduling",
        "registry.services",
        "registry.workers",
    }
)
"""The composition root: what builds `Services`, wires the reactions, or needs every
aggregate at once (the model registry for migrations, the demo data, the CLI).
An aggregate's `jobs` and `demo` modules belong here too: they receive `Services`."""

ROOT_PACKAGES = ("registry.cli.",)
"""Packages whose every module is composition root: the CLI's command groups."""

ALLOWED_CROSSINGS: dict[tuple[str, str], str] = {
    # The shared ledger and the tenant sit under every aggregate and import none of them.
    ("*", "registry.transparency.entries"): "every decision is a log leaf of its own "
    "transaction, so each aggregate appends it (LogAppender) before it commits",
    ("*", "registry.transparency.services"): "as above: LogAppender and PendingLeaf",
    ("*", "registry.federation.models"): "the association is the tenant every aggregate "
    "is scoped by; its row is read by slug, never written outside federation",
    ("*", "registry.federation.lookups"): "the one association-by-slug lookup every "
    "aggregate's association-scoped routes use, with the one refusal",
    # Keys are below everything that verifies a signature.
    ("accounts", "registry.keys.models"): "logging in verifies a challenge against the "
    "registered key",
    ("certification", "registry.keys.models"): "attestations and audits are verified "
    "against the signer's registered key",
    ("certification", "registry.keys.services"): "the same key checks (vendor_key_of, "
    "refuse_if_revoked) as key rotation, not a copy",
    ("certification", "registry.keys.registration"): "accrediting an auditor registers its "
    "keys through the one registration function",
    ("membership", "registry.keys.models"): "approving an application activates the key "
    "that applied, in the same transaction as the admission",
    ("membership", "registry.keys.registration"): "an application registers its key "
    "(pending until approved) through the one registration function",
    # Principals are made where the party they act for is made.
    ("membership", "registry.accounts.models"): "admission makes the vendor's admin "
    "principal in the admission's transaction",
    ("certification", "registry.accounts.models"): "accreditation makes the auditor's "
    "principal in the accreditation's transaction",
    # Readers of the vendor row beyond its identity columns (registry.kernel.members).
    ("certification", "registry.membership.models"): "the attestation hot path reads the "
    "vendor, the stored digests and the keys in one statement (bench/attestation_ingest.py)"
    "; the compromise listing reads applications",
    ("complaints", "registry.membership.models"): "a complaint's vendor is an ORM "
    "relationship, and attachment matches the vendor's verified domains",
    # The blacklist: its rules are evaluated over facts other aggregates hold, and its
    # signed statements (answers, votes, appeals, repairs) are verified like theirs.
    ("blacklist", "registry.complaints.models"): "rules count substantiated complaints and "
    "SLA breaches; evaluation reads them, never writes them",
    ("blacklist", "registry.certification.models"): "the attestation-contradicted rule "
    "compares attested periods with audits",
    ("blacklist", "registry.certification.audit_models"): "the leak and contradiction rules "
    "read audits' major nonconformities",
    ("blacklist", "registry.membership.models"): "evaluation and notice read member vendors "
    "(status, domains) to name and notify the subject; the bulk check's identifier index "
    "reads a listed vendor's slug, credit code and proven domains",
    ("blacklist", "registry.transparency.models"): "evidence items carry their log indexes, "
    "and a recount reads the vote leaves back from the log",
    ("blacklist", "registry.accounts.models"): "appointing a committee member makes its "
    "principal in the appointment's transaction; evaluation reads mediators' principals",
    ("blacklist", "registry.keys.models"): "votes are verified against the member's "
    "registered key, and appointment registers it",
    ("blacklist", "registry.keys.services"): "answers, appeals and repairs are checked by the "
    "same vendor-key rules (usable_vendor_key, refuse_if_revoked) as attestations",
    ("blacklist", "registry.notifications.services"): "each case step queues its webhook or "
    "mediators' notice in the step's own transaction (the outbox)",
    # The outbox is below the aggregates that speak to vendors and mediators.
    ("complaints", "registry.notifications.services"): "a complaint's own notices to its "
    "vendor and mediators are queued in the step that causes them (the outbox)",
    # Reports are a read model of the others: they read rows, never write them.
    ("reports", "registry.complaints.models"): "the rollups are recomputed from the "
    "complaint rows (`registry reports rebuild`, the naive GROUP BY the tests compare with)",
    ("reports", "registry.complaints.messages"): "the category names label the report "
    "tables in both languages, the same words as the complaint form",
    ("reports", "registry.certification.models"): "the compliance KPI reads the certified "
    "vendors and their latest attestations",
    ("reports", "registry.certification.audit_models"): "the compliance KPI reads each "
    "vendor's latest audit outcomes",
    ("reports", "registry.certification.status"): "which certificate states count as certified",
    ("reports", "registry.membership.models"): "the compliance KPI places a vendor by its "
    "association and the region in its credit code",
    ("reports", "registry.blacklist.models"): "the blacklist rollup is recomputed from the "
    "case, listing, appeal and repair rows, and the medians are read from them",
    ("reports", "registry.blacklist.states"): "which case, appeal and repair outcomes count "
    "as listed, overturned or granted, and the tiers that label the figures",
    ("reports", "registry.accounts.models"): "a government partner's scope is granted to "
    "the principal of the token `admin create-token` just minted",
}
"""(importing aggregate or "*", imported module) -> why. Anything else between two
aggregates goes through the kernel or an `events` module."""

ALLOWED_CYCLES: dict[frozenset[str], str] = {}
"""Module import cycles that are accepted, with the reason. None are."""


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _registry_modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for path in (ROOT / "registry").rglob("*.py")
        if "migrations" not in path.parts
    }


MODULES = _registry_modules()


def _imported_modules(path: Path) -> set[str]:
    """Every registry module `path` imports, at any depth of its code (`from a import b`
    counts as importing `a.b` when that is a module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name in MODULES}


GRAPH = {name: _imported_modules(path) - {name} for name, path in MODULES.items()}


def aggregate_of(module: str) -> str | None:
    """The aggregate a module belongs to, or None for kernel and root modules."""
    parts = module.split(".")
    if len(parts) >= 2 and parts[1] in AGGREGATES and parts[-1] not in {"jobs", "demo"}:
        return parts[1]
    return None


def layer_of(module: str) -> str | None:
    """`kernel`, `aggregate` or `root`; None for a module nobody placed yet."""
    if (
        module in ROOT_MODULES
        or module.startswith(ROOT_PACKAGES)
        or module.rsplit(".", maxsplit=1)[-1] in {"jobs", "demo"}
    ):
        return "root"
    if aggregate_of(module) is not None:
        return "aggregate"
    if module in KERNEL_MODULES or module.startswith("registry.kernel"):
        return "kernel"
    return None


def test_every_registry_module_has_a_layer() -> None:
    """A new module is placed deliberately: add it to a list above or to a package."""
    assert [name for name in sorted(MODULES) if layer_of(name) is None] == []


def test_the_kernel_imports_only_the_kernel() -> None:
    offenders = [
        f"{name} imports {sorted(other for other in GRAPH[name] if layer_of(other) != 'kernel')}"
        for name in sorted(MODULES)
        if layer_of(name) == "kernel" and any(layer_of(o) != "kernel" for o in GRAPH[name])
    ]
    assert offenders == []


def test_aggregates_never_import_the_composition_root() -> None:
    offenders = [
        f"{name} imports {other}"
        for name in sorted(MODULES)
        if layer_of(name) == "aggregate"
        for other in sorted(GRAPH[name])
        if layer_of(other) == "root"
    ]
    assert offenders == []


def _crossings() -> list[tuple[str, str, str]]:
    """(importer, its aggregate, imported module) for every import from one aggregate
    into another that is not of an `events` module."""
    return [
        (name, aggregate, other)
        for name in sorted(MODULES)
        if (aggregate := aggregate_of(name)) is not None
        for other in sorted(GRAPH[name])
        if aggregate_of(other) not in {None, aggregate} and not other.endswith(".events")
    ]


def test_aggregates_meet_only_through_the_kernel_and_events() -> None:
    """An aggregate may import another's `events` module; any other import of another
    aggregate's services or models is one of the listed, justified crossings."""
    offenders = [
        f"{name} imports {other}"
        for name, aggregate, other in _crossings()
        if (aggregate, other) not in ALLOWED_CROSSINGS and ("*", other) not in ALLOWED_CROSSINGS
    ]
    assert offenders == []


def test_every_allowed_crossing_is_still_used() -> None:
    """The list shrinks with the code: an exception nobody needs any more is removed."""
    used = {(aggregate, other) for _, aggregate, other in _crossings()}
    used |= {("*", other) for _, _, other in _crossings()}
    assert [pair for pair in ALLOWED_CROSSINGS if pair not in used] == []


def _cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one node (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(frozenset(component))
    return found


def package_graph() -> dict[str, set[str]]:
    """The import graph with each aggregate one node (its jobs and demo modules apart)
    and every other registry module a node of its own."""

    def node(module: str) -> str:
        aggregate = aggregate_of(module)
        return f"registry.{aggregate}" if aggregate else module

    graph: dict[str, set[str]] = {node(name): set() for name in MODULES}
    for name, imported in GRAPH.items():
        graph[node(name)].update(node(other) for other in imported if node(other) != node(name))
    return graph


def test_no_import_cycles_among_registry_modules() -> None:
    assert [c for c in _cycles(GRAPH) if c not in ALLOWED_CYCLES] == []


def test_no_import_cycles_among_aggregates() -> None:
    """With each aggregate taken whole, the aggregates still form no loop: the order is
    transparency, federation < keys < accounts < membership < notifications <
    certification, complaints < reports (docs/architecture.md, "Layers")."""
    assert _cycles(package_graph()) == []


# --- the event catalogue in docs/architecture.md ---------------------------------------

ARCHITECTURE_DOC = ROOT / "docs" / "architecture.md"
_EVENT_ROW = re.compile(r"^\| `(\w+)` \| [^|]+ \|([^|]*)\|$", re.MULTILINE)


def _documented_events() -> dict[str, list[str]]:
    """Event name -> subscriber names, as the document's table lists them."""
    text = ARCHITECTURE_DOC.read_text(encoding="utf-8")
    return {
        name: re.findall(r"`([\w.]+)`", subscribers)
        for name, subscribers in _EVENT_ROW.findall(text)
    }


def _published_event_types() -> set[str]:
    """Every concrete event class of an aggregate's `events` module (a base that others
    extend, such as `ComplaintFact`, is not an event of its own)."""
    from registry.events import DomainEvent

    found: set[type[DomainEvent]] = set()
    for name in MODULES:
        if name.endswith(".events") and aggregate_of(name) is not None:
            module = importlib.import_module(name)
            found.update(
                value
                for value in vars(module).values()
                if isinstance(value, type)
                and issubclass(value, DomainEvent)
                and value.__module__ == name
            )
    return {event.__name__ for event in found if not event.__subclasses__()}


def test_the_documented_event_catalogue_matches_the_code() -> None:
    """Every event class has a row, every row names an event class, and each row lists
    exactly the subscribers the composition root registers, in their order."""
    from attestations.keys import SigningKey
    from registry.events import EventBus
    from registry.services import subscribe_reactions
    from registry.settings import Settings

    bus = EventBus()
    subscribe_reactions(bus, Settings(), SigningKey.generate())
    registered: dict[str, list[str]] = {}
    for event, subscriber in bus.subscriptions():
        registered.setdefault(event, []).append(subscriber)
    documented = _documented_events()
    assert sorted(documented) == sorted(_published_event_types())
    assert {event: names for event, names in documented.items() if names} == registered


def test_the_kernel_vendor_columns_are_the_models() -> None:
    """`registry.kernel.members.VENDOR` names the vendor table without importing
    membership; it must keep naming real columns of the same kind."""
    from registry.kernel.members import VENDOR
    from registry.membership.models import Vendor

    table = Vendor.__table__
    assert VENDOR.name == table.name
    for column in VENDOR.c:
        assert column.key in table.c, column.key
        assert column.type.python_type is table.c[column.key].type.python_type or (
            column.key == "status"
        )
