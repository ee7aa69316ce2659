"""`registry blacklist …`: evaluate the rulebooks, replay a case, publish rules, read and
answer cases. Commands that act as someone go through the API with that someone's token
or key, as `registry attest` does; evaluate and replay run against the database, like
`registry jobs run`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click
from rich.progress import Progress

from attestations.keys import load_signing_key
from registry.cli.running import (
    call,
    fail,
    guarded,
    print_json,
    run_with_services,
    token_option,
    url_option,
)
from registry.client import RegistryClient
from registry.kernel.clock import Clock, ManualClock, SystemClock, isoformat, parse_iso

if TYPE_CHECKING:
    from registry.services import Services

API = "/api/v1/blacklist"


def clock_at(now_text: str | None) -> Clock:
    if not now_text:
        return SystemClock()
    try:
        return ManualClock(parse_iso(now_text))
    except ValueError:
        fail(f"--now must be an ISO 8601 time with a zone, not {now_text!r}")


signed_at_option = click.option(
    "--now",
    "now_text",
    default=None,
    help="sign as of this ISO 8601 instant, for a server whose clock was moved with "
    "`registry serve --now`; default: the wall clock",
)


@click.group()
def blacklist() -> None:
    """The shared blacklist: rulebooks, evaluation (opens cases, never lists), cases."""


@blacklist.command("evaluate")
@click.option(
    "--now",
    "now_text",
    default=None,
    help="ISO 8601 instant to evaluate at (e.g. 2027-01-15T00:00:00Z); default: the wall clock",
)
def evaluate(now_text: str | None) -> None:
    """Evaluate every rulebook in force; open a case where a rule holds and none covers it."""

    async def work(services: Services) -> dict[str, Any]:
        result = await services.blacklist_rules.evaluate()
        return {
            "at": isoformat(result.at),
            "subjects": result.subjects,
            "rules_tested": result.rules_tested,
            "rules_holding": result.holding,
            "opened": result.opened,
        }

    print_json(guarded(lambda: run_with_services(work, clock=clock_at(now_text))))


@blacklist.command("reindex")
def reindex() -> None:
    """Write the bulk check's identifier index again from the listings in force and their
    vendors (after a restore, say); every worker rebuilds its copy on its next check."""

    from registry.blacklist.identifiers import rebuild_index  # the ORM: only when run

    async def work(services: Services) -> int:
        async with services.ctx.db.transaction() as session:
            return await rebuild_index(session)

    print_json({"identifiers": guarded(lambda: run_with_services(work))})


@blacklist.command("check")
@click.argument("identifiers", nargs=-1)
@click.option(
    "--file",
    "file",
    type=click.File("r", encoding="utf-8"),
    default=None,
    help="more identifiers, one KIND:VALUE a line ('-' for stdin)",
)
@click.option("--signed", is_flag=True, help="ask for the answer signed by the federation key")
@token_option
@url_option
def check(
    identifiers: tuple[str, ...], file: TextIO | None, signed: bool, token: str, url: str
) -> None:
    """Bulk-check identifiers given as KIND:VALUE (credit_code:…, domain:…, app_id:…,
    vendor:…) against the listings in force; prints the answer (or the signed envelope)."""
    lines = [*identifiers, *(line.strip() for line in (file or []) if line.strip())]
    if not lines:
        fail("give identifiers as KIND:VALUE, or --file")
    items = []
    for line in lines:
        kind, separator, value = line.partition(":")
        if not separator:
            fail(f"{line!r}: write an identifier as KIND:VALUE, e.g. domain:shop.example.cn")
        items.append({"kind": kind.strip(), "value": value.strip()})
    params = {"signed": "true"} if signed else {}
    print_json(
        guarded(
            lambda: call(
                url, token, "POST", f"{API}/check", params=params, json={"identifiers": items}
            )
        )
    )


@blacklist.command("replay")
@click.argument("reference", required=False)
@click.option("--all", "every", is_flag=True, help="replay every case")
@click.option("--bundle", "show_bundle", is_flag=True, help="print the recomputed bundle too")
def replay(reference: str | None, every: bool, show_bundle: bool) -> None:
    """Recompute a case's evidence from the facts at its evaluation; exit 1 unless the same
    bundle and digest come out."""
    if bool(reference) == every:
        fail("give one case reference, or --all")

    async def work(services: Services) -> list[dict[str, Any]]:
        if reference:
            results = [await services.blacklist_rules.replay(reference)]
        else:
            async with services.ctx.db.read() as session:
                from sqlalchemy import select

                from registry.blacklist.models import BlacklistCase

                references = list(
                    (
                        await session.execute(
                            select(BlacklistCase.reference).order_by(BlacklistCase.id)
                        )
                    ).scalars()
                )
            results = []
            with Progress(transient=True) as progress:
                task = progress.add_task("replaying cases", total=len(references))
                for each in references:
                    results.append(await services.blacklist_rules.replay(each))
                    progress.advance(task)
        return [
            {
                "case": r.reference,
                "reproduced": r.reproduced,
                "recorded_digest": r.recorded_digest,
                "recomputed_digest": r.recomputed_digest,
                "rule_holds": r.holds,
                "notes": r.notes,
                **({"bundle": r.bundle} if show_bundle else {}),
            }
            for r in results
        ]

    answers = guarded(lambda: run_with_services(work))
    print_json(answers if every else answers[0])
    if not all(answer["reproduced"] for answer in answers):
        raise SystemExit(1)


@blacklist.group("rulebook")
def rulebook() -> None:
    """Rulebooks: versioned, published with a notice period, never edited."""


@rulebook.command("adopt-default")
def rulebook_adopt_default() -> None:
    """Publish the default rulebook for every association that has none (effective after
    the notice period)."""

    async def work(services: Services) -> list[str]:
        return await services.blacklist_rules.publish_default_rulebooks()

    print_json({"published": guarded(lambda: run_with_services(work))})


@rulebook.command("show")
@click.argument("association")
@click.option("--version", type=int, default=None, help="one version (default: every version)")
@url_option
def rulebook_show(association: str, version: int | None, url: str) -> None:
    """An association's published rulebooks (public)."""
    path = f"{API}/associations/{association}/rulebooks"
    if version is not None:
        path += f"/{version}"
    print_json(guarded(lambda: call(url, None, "GET", path)))


@rulebook.command("publish")
@click.argument("association")
@click.option(
    "--rules",
    "rules_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON list of rules (the shape `rulebook show` prints under `rules`)",
)
@click.option("--effective-from", required=True, help="ISO 8601, at least the notice period away")
@token_option
@url_option
def rulebook_publish(
    association: str, rules_path: Path, effective_from: str, token: str, url: str
) -> None:
    """Publish a new rulebook version (association or federation admin token)."""
    try:
        rules = json.loads(rules_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        fail(f"{rules_path}: not a JSON list of rules ({exc})")
    keep = ("rule_id", "kind", "title_zh", "title_en", "text_zh", "text_en", "parameters")
    body = {
        "effective_from": effective_from,
        "rules": [
            {**{k: rule.get(k) for k in keep}, "tier_proposed": rule.get("tier_proposed")}
            for rule in (rules if isinstance(rules, list) else [])
        ],
    }
    path = f"{API}/associations/{association}/rulebooks"
    print_json(guarded(lambda: call(url, token, "POST", path, json=body)))


@blacklist.command("terms")
@click.argument("association")
@click.option("--set", "assignments", multiple=True, help="NAME=VALUE to change (repeatable)")
@click.option("--token", envvar="REGISTRY_TOKEN", default=None, help="admin token, to --set")
@url_option
def terms(association: str, assignments: tuple[str, ...], token: str | None, url: str) -> None:
    """Show an association's blacklist terms, or change some with --set (admin token)."""
    path = f"{API}/associations/{association}/terms"
    if not assignments:
        print_json(guarded(lambda: call(url, None, "GET", path)))
        return
    changes: dict[str, Any] = {}
    for assignment in assignments:
        name, _, value = assignment.partition("=")
        changes[name.strip()] = int(value) if value.strip().isdigit() else value.strip()
    print_json(guarded(lambda: call(url, token, "PUT", path, json=changes)))


@blacklist.command("cases")
@click.option("--vendor", default=None, help="a vendor's inbox")
@click.option("--association", default=None, help="the cases an association governs")
@click.option("--state", default=None, help="only cases in this state (with --association)")
@click.option(
    "--references-only",
    is_flag=True,
    help="print only the case references, one a line, e.g. CASE=$(registry blacklist cases …)",
)
@token_option
@url_option
def cases(
    vendor: str | None,
    association: str | None,
    state: str | None,
    references_only: bool,
    token: str,
    url: str,
) -> None:
    """List cases: a vendor's inbox, or those an association governs (newest first)."""
    if bool(vendor) == bool(association):
        fail("give --vendor or --association")
    if vendor:
        path, params = f"{API}/vendors/{vendor}/cases", {}
    else:
        path, params = f"{API}/associations/{association}/cases", {"state": state} if state else {}
    page = guarded(lambda: call(url, token, "GET", path, params=params))
    if references_only:
        for item in page["items"]:
            click.echo(item["reference"])
        return
    print_json(page)


@blacklist.command("case")
@click.argument("reference")
@token_option
@url_option
def case(reference: str, token: str, url: str) -> None:
    """One case with its evidence, windows and timeline."""
    print_json(guarded(lambda: call(url, token, "GET", f"{API}/cases/{reference}")))


@blacklist.command("answer")
@click.argument("reference")
@click.option("--key", "key_path", required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--vendor", required=True, help="vendor slug")
@click.option("--statement", required=True, help="the vendor's statement (陈述申辩)")
@click.option("--remedy", "remedies", multiple=True, help="a remedy taken (repeatable)")
@click.option(
    "--evidence-digest", "digests", multiple=True, help="hex SHA-256 of a document (repeatable)"
)
@signed_at_option
@url_option
def answer(
    reference: str,
    key_path: Path,
    vendor: str,
    statement: str,
    remedies: tuple[str, ...],
    digests: tuple[str, ...],
    now_text: str | None,
    url: str,
) -> None:
    """Sign the vendor's answer with KEY, log in with it and submit it."""
    from registry.blacklist.signing import answer_envelope

    def work() -> Any:
        key = load_signing_key(key_path)
        envelope = answer_envelope(
            key,
            case=reference,
            vendor=vendor,
            statement=statement,
            remedies=remedies,
            evidence_digests=digests,
            issued_at=clock_at(now_text).now(),
        )
        client = RegistryClient(url)
        try:
            client.login(key)
            return client.request(
                "POST", f"{API}/cases/{reference}/answer", json=envelope.to_dict()
            )
        finally:
            client.close()

    print_json(guarded(work))


@blacklist.command("relay-answer")
@click.argument("reference")
@click.option("--statement", required=True, help="the subject's statement, as received")
@click.option("--remedy", "remedies", multiple=True, help="a remedy taken (repeatable)")
@click.option("--evidence-digest", "digests", multiple=True, help="hex SHA-256 (repeatable)")
@token_option
@url_option
def relay_answer(
    reference: str,
    statement: str,
    remedies: tuple[str, ...],
    digests: tuple[str, ...],
    token: str,
    url: str,
) -> None:
    """Relay a non-member subject's answer (mediator token of the governing association)."""
    body = {"statement": statement, "remedies": list(remedies), "evidence_digests": list(digests)}
    path = f"{API}/cases/{reference}/relayed-answer"
    print_json(guarded(lambda: call(url, token, "POST", path, json=body)))
