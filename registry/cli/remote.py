"""HTTP client commands: they act through a running registry's API, as any client would.

Vendors apply, log in, rotate keys, prove domains and attest; association admins review
applications; auditors submit results; anyone reads keys, auditors and certificates; a
monitor checks the log. The registry at `--url` (or REGISTRY_URL) decides who may do what.
"""

from __future__ import annotations

import asyncio
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import click

from attestations.keys import load_signing_key
from registry.cli.running import call, guarded, period_option, print_json, token_option, url_option
from registry.client import RegistryClient, application_envelope, rotation_envelope
from registry.kernel.clock import SystemClock


@click.group()
def keys() -> None:
    """Ed25519 signing keys."""


@keys.command("rotate")
@click.option("--vendor", required=True, help="vendor slug")
@click.option("--key", "key_path", required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--new-key", "new_key_path", required=True, type=click.Path(exists=True, path_type=Path)
)
@url_option
def keys_rotate(vendor: str, key_path: Path, new_key_path: Path, url: str) -> None:
    """Register NEW-KEY for VENDOR, signed by the current KEY and the new one."""

    def work() -> Any:
        current, new = load_signing_key(key_path), load_signing_key(new_key_path)
        with closing(RegistryClient(url)) as client:
            client.login(current)
            envelope = rotation_envelope(current, new, vendor=vendor, issued_at=SystemClock().now())
            return client.request(
                "POST", f"/api/v1/vendors/{vendor}/keys/", json=envelope.to_dict()
            )

    print_json(guarded(work))


@keys.command("list")
@click.option("--vendor", required=True, help="vendor slug")
@click.option(
    "--status",
    type=click.Choice(["pending", "active", "revoked"]),
    default=None,
    help="only keys in this state",
)
@click.option(
    "--ids-only",
    is_flag=True,
    help="print only the key ids, one a line, e.g. for KEY_ID=$(registry keys list … | sed -n 1p)",
)
@url_option
def keys_list(vendor: str, status: str | None, ids_only: bool, url: str) -> None:
    """Every key VENDOR ever registered, oldest first, with its state (public)."""
    listed = guarded(lambda: call(url, None, "GET", f"/api/v1/vendors/{vendor}/keys/"))
    chosen = [key for key in listed if status is None or key["status"] == status]
    for key in chosen:
        if ids_only:
            click.echo(key["key_id"])
            continue
        line = f"{key['key_id']}  {key['status']:<8}  registered {key['created_at']}"
        if key.get("revoked_at"):
            line += f"  revoked {key['revoked_at']}: {key.get('revocation_reason') or ''}"
        click.echo(line.rstrip(": "))
    if not chosen and not ids_only:
        click.echo(f"no {status + ' ' if status else ''}keys for {vendor}", err=True)


@keys.command("revoke")
@click.argument("key_id")
@click.option("--reason", required=True)
@click.option(
    "--compromised-since",
    default=None,
    help="ISO 8601 instant the key was compromised from (between its registration and now); "
    "what it signed since is listed by `registry keys compromised`",
)
@token_option
@url_option
def keys_revoke(
    key_id: str, reason: str, compromised_since: str | None, token: str, url: str
) -> None:
    """Revoke a key now, with every token it logged in for (vendor or association admin)."""

    body: dict[str, Any] = {"reason": reason}
    if compromised_since:
        body["compromised_since"] = compromised_since
    path = f"/api/v1/keys/{key_id}/revoke"
    print_json(guarded(lambda: call(url, token, "POST", path, json=body)))


@keys.command("compromised")
@click.argument("key_id")
@token_option
@url_option
def keys_compromised(key_id: str, token: str, url: str) -> None:
    """List the records KEY_ID signed after it was compromised (vendor, its association's
    admins or the federation admin)."""

    path = f"/api/v1/keys/{key_id}/compromised-records"
    print_json(guarded(lambda: call(url, token, "GET", path)))


# --- membership -----------------------------------------------------------------------


@click.command()
@click.option("--key", "key_path", required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--association", required=True, help="association slug, e.g. csia")
@click.option("--credit-code", required=True, help="18-character unified social credit code")
@click.option("--slug", required=True, help="URL name, e.g. acme-cloud")
@click.option("--name-zh", required=True)
@click.option("--name-en", required=True)
@click.option("--domain", "domains", multiple=True, help="repeat for each domain")
@click.option("--website", default=None)
@click.option("--email", "contact_email", default=None)
@click.option(
    "--size",
    type=click.Choice(["micro", "small", "medium", "large"]),
    default=None,
    help="SME band for software and IT services (工信部联企业〔2011〕300号): micro <10 "
    "employees or <¥0.5M revenue, small <100 or <¥10M, medium <300 or <¥100M, large above",
)
@click.option(
    "--id-only",
    is_flag=True,
    help="print only the application id, e.g. for APPLICATION_ID=$(registry apply … --id-only)",
)
@url_option
def apply(
    key_path: Path,
    association: str,
    credit_code: str,
    slug: str,
    name_zh: str,
    name_en: str,
    domains: tuple[str, ...],
    website: str | None,
    contact_email: str | None,
    size: str | None,
    id_only: bool,
    url: str,
) -> None:
    """Apply to join an association, signing the application with KEY."""

    def work() -> Any:
        envelope = application_envelope(
            load_signing_key(key_path),
            association=association,
            credit_code=credit_code,
            slug=slug,
            name_zh=name_zh,
            name_en=name_en,
            domains=domains,
            issued_at=SystemClock().now(),
            website=website,
            contact_email=contact_email,
            size=size,
        )
        return call(url, None, "POST", "/api/v1/applications/", json=envelope.to_dict())

    answer = guarded(work)
    if id_only:
        click.echo(answer["id"])
    else:
        print_json(answer)


@click.command()
@click.option("--key", "key_path", required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--token-only",
    is_flag=True,
    help="print only the token, e.g. for export REGISTRY_TOKEN=$(registry login … --token-only)",
)
@url_option
def login(key_path: Path, url: str, token_only: bool) -> None:
    """Sign a login challenge with KEY and print the bearer token."""

    def work() -> Any:
        with closing(RegistryClient(url)) as client:
            return client.login(load_signing_key(key_path))

    answer = guarded(work)
    if token_only:
        click.echo(answer["token"])
    else:
        print_json(answer)


@click.group()
def applications() -> None:
    """Review applications (association admin token)."""


@applications.command("list")
@click.option("--status", type=click.Choice(["pending", "approved", "rejected"]), default=None)
@token_option
@url_option
def applications_list(status: str | None, token: str, url: str) -> None:
    """List applications to your association."""
    params = {"status": status} if status else {}
    print_json(guarded(lambda: call(url, token, "GET", "/api/v1/applications/", params=params)))


@applications.command("approve")
@click.argument("application_id", type=int)
@click.option("--reason", default="")
@token_option
@url_option
def applications_approve(application_id: int, reason: str, token: str, url: str) -> None:
    """Approve an application."""
    path = f"/api/v1/applications/{application_id}/approve"
    print_json(guarded(lambda: call(url, token, "POST", path, json={"reason": reason})))


@applications.command("reject")
@click.argument("application_id", type=int)
@click.option("--reason", required=True)
@token_option
@url_option
def applications_reject(application_id: int, reason: str, token: str, url: str) -> None:
    """Reject an application with a reason."""
    path = f"/api/v1/applications/{application_id}/reject"
    print_json(guarded(lambda: call(url, token, "POST", path, json={"reason": reason})))


@click.group()
def domains() -> None:
    """Prove control of your listed domains (vendor admin token)."""


@domains.command("list")
@click.argument("vendor")
@token_option
@url_option
def domains_list(vendor: str, token: str, url: str) -> None:
    """Your domains, each pending or verified, with the token to serve and where."""
    path = f"/api/v1/vendors/{vendor}/domains/"
    print_json(guarded(lambda: call(url, token, "GET", path)))


@domains.command("verify")
@click.argument("vendor")
@click.argument("domain")
@token_option
@url_option
def domains_verify(vendor: str, domain: str, token: str, url: str) -> None:
    """Ask the registry to fetch https://DOMAIN/.well-known/trust-registry.txt now."""
    path = f"/api/v1/vendors/{vendor}/domains/{domain}/verify"
    print_json(guarded(lambda: call(url, token, "POST", path)))


# --- transparency log -----------------------------------------------------------------


@click.command("monitor")
@click.option("--url", envvar="REGISTRY_URL", required=True, help="registry base URL")
@click.option(
    "--state",
    "state_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON file holding the pinned key and the last checkpoint seen",
)
def log_monitor(url: str, state_path: Path) -> None:
    """Verify the latest checkpoint extends the last one seen; exit 2 on a fork or rollback.

    The first run pins the federation's verifier key (trust on first use); a later change
    of key is refused. Exit 0: consistent; 1: could not check; 2: the log misbehaved.
    """
    import httpx

    from registry.transparency.monitor import MonitorAlarm, MonitorError, check_log

    async def work() -> str:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            report = await check_log(client, state_path)
        return report.summary()

    try:
        click.echo(asyncio.run(work()))
    except MonitorAlarm as exc:
        click.secho(f"ALARM: {exc}", fg="red", err=True)
        sys.exit(2)
    except MonitorError as exc:
        click.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(1)


# --- certification: attestations and audits -------------------------------------------


@click.command()
@click.option("--key", "key_path", required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--vendor", required=True, help="vendor slug")
@period_option("--period-start", "start of the attested period")
@period_option("--period-end", "end of the attested period")
@click.option("--scheme", default="consumer-protection@1", show_default=True)
@click.option("--unmet", multiple=True, help="criterion id claimed as not met (repeatable)")
@url_option
def attest(
    key_path: Path,
    vendor: str,
    period_start: str,
    period_end: str,
    scheme: str,
    unmet: tuple[str, ...],
    url: str,
) -> None:
    """Sign a self-regulation attestation with KEY, log in with it and submit it."""
    from registry.certification.signing import attestation_envelope
    from registry.kernel.clock import parse_iso

    def work() -> Any:
        key = load_signing_key(key_path)
        envelope = attestation_envelope(
            key,
            vendor=vendor,
            period=(parse_iso(period_start), parse_iso(period_end)),
            issued_at=SystemClock().now(),
            scheme=scheme,
            unmet=unmet,
        )
        with closing(RegistryClient(url)) as client:
            client.login(key)
            client.request(
                "POST", f"/api/v1/vendors/{vendor}/attestations", json=envelope.to_dict()
            )
            return client.request("GET", f"/api/v1/vendors/{vendor}/certification")

    print_json(guarded(work))


@click.group()
def auditors() -> None:
    """Accredited auditor organisations (accredited by a federation admin token)."""


@auditors.command("list")
@url_option
def auditors_list(url: str) -> None:
    """Every accredited auditor organisation, with scope and validity (public)."""
    print_json(guarded(lambda: call(url, None, "GET", "/api/v1/auditors/")))


@auditors.command("accredit")
@click.option("--slug", required=True, help="URL name of the organisation, e.g. zhengxin-audit")
@click.option("--name-zh", required=True)
@click.option("--name-en", required=True)
@click.option(
    "--public-key",
    "key_paths",
    required=True,
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="the auditor's public key file (registry keys generate writes one); repeat for each",
)
@click.option("--scope", required=True, multiple=True, help="association slug it may audit; repeat")
@click.option("--from", "accredited_from", required=True, help="ISO 8601, start of validity")
@click.option("--until", "accredited_until", required=True, help="ISO 8601, end of validity")
@token_option
@url_option
def auditors_accredit(
    slug: str,
    name_zh: str,
    name_en: str,
    key_paths: tuple[Path, ...],
    scope: tuple[str, ...],
    accredited_from: str,
    accredited_until: str,
    token: str,
    url: str,
) -> None:
    """Accredit an auditor organisation; its keys can then log in and sign audit results."""
    from attestations.keys import load_public_key

    def work() -> Any:
        body = {
            "slug": slug,
            "name_zh": name_zh,
            "name_en": name_en,
            "public_keys": [load_public_key(path).to_base64() for path in key_paths],
            "scope": list(scope),
            "accredited_from": accredited_from,
            "accredited_until": accredited_until,
        }
        return call(url, token, "POST", "/api/v1/auditors/", json=body)

    print_json(guarded(work))


@click.group()
def audit() -> None:
    """Audit results (accredited auditors)."""


@audit.command("submit")
@click.option("--key", "key_path", required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--auditor", required=True, help="auditor slug")
@click.option("--vendor", required=True, help="vendor slug")
@period_option("--period-start", "start of the audited period")
@period_option("--period-end", "end of the audited period")
@click.option("--report", required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--fail", "failed", is_flag=True, help="the vendor failed the audit")
@click.option("--next-due", default=None, help="when the next audit is due (ISO 8601)")
@url_option
def audit_submit(
    key_path: Path,
    auditor: str,
    vendor: str,
    period_start: str,
    period_end: str,
    report: Path,
    failed: bool,
    next_due: str | None,
    url: str,
) -> None:
    """Sign an audit result (with the report's SHA-256) with KEY, log in and submit it."""
    from registry.certification.signing import audit_envelope
    from registry.kernel.clock import parse_iso

    def work() -> Any:
        key = load_signing_key(key_path)
        envelope = audit_envelope(
            key,
            auditor=auditor,
            vendor=vendor,
            period=(parse_iso(period_start), parse_iso(period_end)),
            issued_at=SystemClock().now(),
            report=report.read_bytes(),
            passed=not failed,
            next_audit_due=parse_iso(next_due) if next_due else None,
        )
        with closing(RegistryClient(url)) as client:
            client.login(key)
            client.request("POST", "/api/v1/audits", json=envelope.to_dict())
            return client.request("GET", f"/api/v1/vendors/{vendor}/certification")

    print_json(guarded(work))


@click.command()
@click.argument("slug")
@click.option("--history", is_flag=True, help="also list every transition and its cause")
@url_option
def certificate(slug: str, history: bool, url: str) -> None:
    """Show a vendor's public certificate (state, level, validity, scheme, log index)."""
    status = guarded(lambda: call(url, None, "GET", f"/api/v1/vendors/{slug}/certification"))
    if history:
        status["history"] = guarded(
            lambda: call(url, None, "GET", f"/api/v1/vendors/{slug}/certification/history")
        )
    print_json(status)
