"""The `registry` command: server, database, demo data, keys and the vendor-side client.

Part of the composition root: in-process commands build the same `Services` the web app
uses, so a command can never skip a rule the API enforces. The commands live in three
modules, by how they reach the registry:

- `operations`: in-process operator commands that open the database on the server's
  machine (`serve`, `db`, `demo`, `admin`, `jobs`, `scheduler`, `log sign-checkpoint`);
- `remote`: HTTP client commands that act through a running registry's API (`apply`,
  `login`, `keys rotate`, `applications`, `domains`, `attest`, `audit`, `log monitor`…);
- `offline`: tools that need neither (`keys generate`, `sign`, `verify`, `badge verify`);

and `running` holds what they share: `run_with_services`, `guarded`, `fail`,
`print_json`, `call` and the `--url` / `--token` options.

**Adding a group of commands.** Put it in a module of its own in this package, named
after its area (e.g. `registry/cli/blacklist.py` defining a click group `blacklist`),
importing its helpers from `registry.cli.running`, and register it with one line in
`_GROUPS` below. A group whose commands reach the registry in different ways keeps
each command in the module of its kind and is assembled here (as `keys` and `log` are).
`registry --help` lists commands alphabetically, so the order below is free.
"""

from __future__ import annotations

import click

from registry.cli import blacklist, offline, operations, partners, remote, reports
from registry.cli import blacklist_snapshots as _snapshots  # noqa: F401 - joins `blacklist`
from registry.cli import blacklist_votes as _committee  # noqa: F401 - its commands join `blacklist`
from registry.cli.running import (
    fail,
    guarded,
    print_json,
    run_with_services,
    token_option,
    url_option,
)

__all__ = [
    "fail",
    "guarded",
    "main",
    "print_json",
    "run_with_services",
    "token_option",
    "url_option",
]


@click.group()
@click.version_option(package_name="trust-registry")
def main() -> None:
    """Trust Registry: signed vendor certification with a verifiable transparency log."""


# Groups whose commands reach the registry in different ways: each command stays in the
# module of its kind.
remote.keys.add_command(offline.keys_generate)
operations.log.add_command(remote.log_monitor)

_GROUPS: list[click.Command] = [
    # in-process operator commands
    operations.serve,
    operations.db,
    operations.demo,
    operations.admin,
    operations.log,
    operations.jobs,
    operations.scheduler,
    # HTTP client commands
    remote.keys,
    remote.apply,
    remote.login,
    remote.applications,
    remote.domains,
    remote.attest,
    remote.auditors,
    remote.audit,
    remote.certificate,
    # offline tools
    offline.sign,
    offline.verify,
    offline.badge,
    # groups of other areas: one line each, e.g. blacklist.blacklist
    blacklist.blacklist,
    reports.reports,
    partners.partners,
]
for _command in _GROUPS:
    main.add_command(_command)
