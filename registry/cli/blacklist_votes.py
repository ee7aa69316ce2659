"""`registry blacklist …` for the committee and the ways out of a listing: appoint members,
the member's queue, vote and recuse (signed with the member's key file, as `registry
attest` signs with a vendor's), extend a deadline, appeal and repair (signed with the
vendor's key file, or relayed by a mediator for a subject that is not a member), appeal
panels, and recount every decision from the log.

The commands join the `blacklist` group of `registry.cli.blacklist`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.progress import Progress

from attestations.keys import SigningKey, load_public_key, load_signing_key
from registry.blacklist.states import RecusalReason, Tier, VoteChoice
from registry.cli.blacklist import API, blacklist, clock_at, signed_at_option
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

if TYPE_CHECKING:
    from registry.services import Services

key_option = click.option(
    "--key",
    "key_path",
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="your signing key file: it signs, and logs you in",
)


def _as_key_holder(url: str, key: SigningKey, method: str, path: str, body: Any = None) -> Any:
    """Log in by signing a challenge with `key`, then send one request."""
    client = RegistryClient(url)
    try:
        client.login(key)
        if body is None:
            return client.request(method, path)
        return client.request(method, path, json=body)
    finally:
        client.close()


@blacklist.command("appoint")
@click.argument("association")
@click.option("--name", required=True, help="the member's display name")
@click.option(
    "--public-key",
    "public_key_path",
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="the member's public key file: their votes must carry this key",
)
@click.option(
    "--affiliation",
    "affiliations",
    multiple=True,
    help="KIND:VALUE of a subject the member is affiliated with (recused), e.g. vendor:acme",
)
@token_option
@url_option
def appoint(
    association: str,
    name: str,
    public_key_path: Path,
    affiliations: tuple[str, ...],
    token: str,
    url: str,
) -> None:
    """Appoint a committee member with their vote key (an association admin's token)."""
    links = []
    for item in affiliations:
        kind, _, value = item.partition(":")
        if not value:
            fail(f"--affiliation is KIND:VALUE, not {item!r}")
        links.append({"kind": kind, "value": value})

    def work() -> Any:
        key = load_public_key(public_key_path)
        body = {"display_name": name, "public_key": key.to_base64(), "affiliations": links}
        return call(url, token, "POST", f"{API}/associations/{association}/committee/", json=body)

    print_json(guarded(work))


@blacklist.command("queue")
@key_option
@url_option
def queue(key_path: Path, url: str) -> None:
    """The ballots you may still vote on (log in with your vote key)."""
    print_json(
        guarded(
            lambda: _as_key_holder(url, load_signing_key(key_path), "GET", f"{API}/committee/queue")
        )
    )


@blacklist.command("vote")
@click.argument("reference")
@key_option
@click.option(
    "--choice",
    required=True,
    type=click.Choice([c.value for c in VoteChoice]),
    help="list / do_not_list on a case, overturn / uphold on an appeal, grant / refuse on a "
    "repair, or abstain",
)
@click.option("--tier", type=click.Choice([t.value for t in Tier]), help="with --choice list")
@click.option("--reason", required=True, help="why, in a paragraph (it is logged)")
@click.option(
    "--ballot",
    default=None,
    help="case:<id>, appeal:<id> or repair:<id> (default: from your queue)",
)
@signed_at_option
@url_option
def vote(
    reference: str,
    key_path: Path,
    choice: str,
    tier: str | None,
    reason: str,
    ballot: str | None,
    now_text: str | None,
    url: str,
) -> None:
    """Sign a vote on case REFERENCE with your key and cast it; a vote is final."""
    from registry.blacklist.votes import vote_envelope

    def work() -> Any:
        key = load_signing_key(key_path)
        client = RegistryClient(url)
        try:
            client.login(key)
            waiting = [
                item
                for item in client.request("GET", f"{API}/committee/queue")
                if item["case"] == reference and (ballot is None or item["ballot"] == ballot)
            ]
            if not waiting:
                fail(f"no ballot of {reference} waits for your vote")
            item = waiting[0]
            envelope = vote_envelope(
                key,
                ballot=item["ballot"],
                case_reference=reference,
                evidence_digest=item["evidence_digest"],
                choice=VoteChoice(choice),
                tier=Tier(tier) if tier else None,
                reason=reason,
                issued_at=clock_at(now_text).now(),
            )
            return client.request("POST", f"{API}/cases/{reference}/votes", json=envelope.to_dict())
        finally:
            client.close()

    print_json(guarded(work))


@blacklist.command("recuse")
@click.argument("reference")
@key_option
@click.option("--ballot", required=True, help="case:<id>, appeal:<id> or repair:<id>")
@click.option(
    "--reason",
    type=click.Choice([r.value for r in RecusalReason]),
    default=RecusalReason.DECLARED_CONFLICT.value,
    show_default=True,
)
@click.option("--detail", required=True, help="the conflict, or why you stand aside")
@url_option
def recuse(reference: str, key_path: Path, ballot: str, reason: str, detail: str, url: str) -> None:
    """Stand aside from a ballot of case REFERENCE; the recusal is logged."""
    body = {"ballot": ballot, "reason": reason, "detail": detail}
    print_json(
        guarded(
            lambda: _as_key_holder(
                url, load_signing_key(key_path), "POST", f"{API}/cases/{reference}/recusals", body
            )
        )
    )


@blacklist.command("extend")
@click.argument("reference")
@click.option("--reason", required=True, help="why the committee needs more time")
@token_option
@url_option
def extend(reference: str, reason: str, token: str, url: str) -> None:
    """Extend case REFERENCE's decision deadline, once (an association admin's token)."""
    print_json(
        guarded(
            lambda: call(
                url, token, "POST", f"{API}/cases/{reference}/extension", json={"reason": reason}
            )
        )
    )


@blacklist.command("appeal")
@click.argument("reference")
@key_option
@click.option("--vendor", required=True, help="vendor slug")
@click.option("--grounds", required=True, help="why the listing should be overturned")
@click.option("--evidence-digest", "digests", multiple=True, help="hex SHA-256 (repeatable)")
@signed_at_option
@url_option
def appeal(
    reference: str,
    key_path: Path,
    vendor: str,
    grounds: str,
    digests: tuple[str, ...],
    now_text: str | None,
    url: str,
) -> None:
    """Sign an appeal against case REFERENCE's listing with the vendor's key and file it;
    a panel of other associations' members is drawn at once."""
    from registry.blacklist.remedies import appeal_envelope

    def work() -> Any:
        key = load_signing_key(key_path)
        envelope = appeal_envelope(
            key,
            case=reference,
            vendor=vendor,
            grounds=grounds,
            issued_at=clock_at(now_text).now(),
            evidence_digests=digests,
        )
        return _as_key_holder(
            url, key, "POST", f"{API}/cases/{reference}/appeal", envelope.to_dict()
        )

    print_json(guarded(work))


@blacklist.command("repair")
@click.argument("reference")
@key_option
@click.option("--vendor", required=True, help="vendor slug")
@click.option("--commitment", required=True, help="what the vendor commits to")
@click.option("--changes", required=True, help="what changed since the listing")
@click.option(
    "--remediation-digest", "digests", multiple=True, help="hex SHA-256 of evidence (repeatable)"
)
@signed_at_option
@url_option
def repair(
    reference: str,
    key_path: Path,
    vendor: str,
    commitment: str,
    changes: str,
    digests: tuple[str, ...],
    now_text: str | None,
    url: str,
) -> None:
    """Sign a credit-repair application (free) for case REFERENCE's listing and file it."""
    from registry.blacklist.remedies import repair_envelope

    def work() -> Any:
        key = load_signing_key(key_path)
        envelope = repair_envelope(
            key,
            case=reference,
            vendor=vendor,
            commitment=commitment,
            changes=changes,
            issued_at=clock_at(now_text).now(),
            remediation_digests=digests,
        )
        return _as_key_holder(
            url, key, "POST", f"{API}/cases/{reference}/repair", envelope.to_dict()
        )

    print_json(guarded(work))


@blacklist.command("relay-appeal")
@click.argument("reference")
@click.option("--grounds", required=True, help="the subject's grounds, as received")
@click.option("--evidence-digest", "digests", multiple=True, help="hex SHA-256 (repeatable)")
@token_option
@url_option
def relay_appeal(
    reference: str, grounds: str, digests: tuple[str, ...], token: str, url: str
) -> None:
    """Relay a non-member subject's appeal against case REFERENCE's listing (a mediator
    token of the governing association); a panel of other associations is drawn at once."""
    body = {"grounds": grounds, "evidence_digests": list(digests)}
    path = f"{API}/cases/{reference}/relayed-appeal"
    print_json(guarded(lambda: call(url, token, "POST", path, json=body)))


@blacklist.command("relay-repair")
@click.argument("reference")
@click.option("--commitment", required=True, help="what the subject commits to")
@click.option("--changes", required=True, help="what changed since the listing")
@click.option(
    "--remediation-digest", "digests", multiple=True, help="hex SHA-256 of evidence (repeatable)"
)
@token_option
@url_option
def relay_repair(
    reference: str, commitment: str, changes: str, digests: tuple[str, ...], token: str, url: str
) -> None:
    """Relay a non-member subject's credit-repair application (free) for case REFERENCE's
    listing (a mediator token of the governing association)."""
    body = {"commitment": commitment, "changes": changes, "remediation_digests": list(digests)}
    path = f"{API}/cases/{reference}/relayed-repair"
    print_json(guarded(lambda: call(url, token, "POST", path, json=body)))


@blacklist.command("panel")
@click.argument("appeal_id", type=int)
@click.option("--draw", is_flag=True, help="draw the panel of an appeal still waiting for one")
@token_option
@url_option
def panel(appeal_id: int, draw: bool, token: str, url: str) -> None:
    """An appeal's panel and the logged seed it was drawn from (a federation admin's token)."""
    method, path = (
        ("POST", f"{API}/appeals/{appeal_id}/panel")
        if draw
        else (
            "GET",
            f"{API}/appeals/{appeal_id}",
        )
    )
    print_json(guarded(lambda: call(url, token, method, path)))


@blacklist.command("recount")
@click.argument("reference", required=False)
@click.option("--all", "every", is_flag=True, help="recount every case")
def recount(reference: str | None, every: bool) -> None:
    """Recount a case's ballots from the logged vote envelopes; exit 1 unless every
    recount equals the recorded tally."""
    if bool(reference) == every:
        fail("give one case reference, or --all")

    async def work(services: Services) -> list[dict[str, Any]]:
        with Progress(transient=True) as progress:
            progress.add_task("recounting from the log", total=None)
            if reference:
                results = await services.blacklist_recount.recount(reference)
            else:
                results = await services.blacklist_recount.recount_all()
        return [
            {
                "case": r.case,
                "ballot": r.ballot,
                "agrees": r.agrees,
                "recorded": r.recorded,
                "recomputed": r.recomputed,
                **({"error": r.error} if r.error else {}),
            }
            for r in results
        ]

    answers = guarded(lambda: run_with_services(work))
    print_json(answers)
    if not all(answer["agrees"] for answer in answers):
        raise SystemExit(1)
