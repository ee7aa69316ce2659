"""The members' bulk check over HTTP on both databases: every identifier kind listed and
not listed, a member vendor known by its slug, credit code and proven domains, parent
domains up to the registrable domain and never across a public suffix, listings that
ended (retracted on appeal, repaired, expired, or only past their end) no longer listed,
the snapshot serial, a signed answer checked by the project's verifier and by PyNaCl
alone following the README, and one problem naming the first bad identifier."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import httpx
import pytest
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from sqlalchemy import select

from attestations.canonical import canonicalize
from attestations.keys import PublicKey
from registry.blacklist.check import CHECK_PAYLOAD_TYPE, CHECK_TYPE, verify_answer
from registry.blacklist.models import BlacklistCase, Listing
from registry.blacklist.remedies import appeal_envelope, repair_envelope
from registry.blacklist.rulebooks import rulebook_in_force, spec_of
from registry.blacklist.rules import Subject, Verdict, evidence_bundle
from registry.blacklist.services import Candidate, open_case
from registry.blacklist.snapshots import latest_snapshot
from registry.blacklist.states import CaseState, ListingState, SubjectKind, Tier, VoteChoice
from registry.errors import InvalidSignature
from registry.kernel.caller import Role
from registry.kernel.clock import ManualClock
from registry.services import Services
from registry.transparency.services import lock_head
from tests.cli import operator_env, run_cli
from tests.factories import new_credit_code
from tests.integration.test_blacklist_votes import (
    Member,
    adopt_rules,
    ballot_vote,
    committee,
    listed_vendor,
)

PANEL = "caict"


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _list(
    services: Services, members: list[Member], case: BlacklistCase, tier: Tier, clock: ManualClock
) -> Listing:
    """The committee's three signed votes list the case at `tier`."""
    for member in members:
        await services.blacklist_committee.vote(
            member.caller,
            case.reference,
            ballot_vote(member, case, VoteChoice.LIST, tier=tier, now=clock),
        )
    async with services.ctx.db.read() as session:
        listing = (
            await session.execute(select(Listing).where(Listing.case_id == case.id))
        ).scalar_one()
    assert listing.state is ListingState.LISTED
    return listing


async def _nonmember_case(services: Services, kind: SubjectKind, value: str) -> BlacklistCase:
    """A case about an unregistered subject, written by the evaluation's own `open_case`
    under the association's leak rule. The rule's verdict is given here (how complaints
    about a subject that is not a member substantiate it is test_blacklist_nonmember's
    subject); everything from the case on is the real procedure."""
    now = services.ctx.clock.now()
    async with services.ctx.db.transaction() as session:
        await lock_head(session)
        book = await rulebook_in_force(session, 1, now)
        assert book is not None
        rule = next(r for r in book[1] if r.rule_id == "personal-information-leak")
        subject = Subject(kind, value)
        verdict = Verdict(True, {"leaks": 1}, [])
        candidate = Candidate(1, "csia", "default_association", subject, None, None, rule, verdict)
        spec = spec_of(rule)
        return await open_case(
            session,
            services.ctx.settings,
            candidate,
            spec=spec,
            bundle=evidence_bundle(spec, subject, "csia", verdict, now),
            now=now,
        )


async def _voting(services: Services, clock: ManualClock, cases: list[BlacklistCase]) -> None:
    clock.set(max(case.answer_due_at for case in cases))
    assert await services.blacklist_notice.close_answer_windows() >= len(cases)
    async with services.ctx.db.read() as session:
        for case in cases:
            refreshed = await session.get(BlacklistCase, case.id)
            assert refreshed is not None
            assert refreshed.state is CaseState.VOTING
            case.decision_due_at = refreshed.decision_due_at


async def _check(
    api: httpx.AsyncClient, token: str, identifiers: list[tuple[str, str]], **params: Any
) -> httpx.Response:
    return await api.post(
        "/api/v1/blacklist/check",
        headers=_auth(token),
        params=params,
        json={"identifiers": [{"kind": k, "value": v} for k, v in identifiers]},
    )


async def _listed(
    api: httpx.AsyncClient, token: str, identifiers: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    response = await _check(api, token, identifiers)
    assert response.status_code == 200, response.text
    assert response.headers["server-timing"].startswith("check;dur=")
    body = response.json()
    assert body["_type"] == CHECK_TYPE
    assert body["checked"] == len(identifiers)
    assert body["listed"] == sum(r["listed"] for r in body["results"])
    results: list[dict[str, Any]] = body["results"]
    return results


async def _token(services: Services, role: Role, *, vendor: str | None = None) -> str:
    """A fresh token (the story moves the clock by months, past the fixtures' tokens)."""
    issued = await services.accounts.create_principal_with_token(
        role=role,
        display_name=f"checker {role.value}",
        association_slug=None if vendor else "csia",
        vendor_slug=vendor,
    )
    return issued.token


def _flags(results: list[dict[str, Any]]) -> list[bool]:
    return [r["listed"] for r in results]


def _verify_with_pynacl(envelope: dict[str, Any], public_key_b64: str) -> dict[str, Any]:
    """The README's verification, with nothing but PyNaCl and the standard library."""
    raw_key = base64.b64decode(public_key_b64)
    assert envelope["payloadType"] == "application/vnd.trust-registry.blacklist-check+json"
    payload = base64.b64decode(envelope["payload"])
    payload_type = envelope["payloadType"].encode()
    pae = b"DSSEv1 %d %s %d %s" % (len(payload_type), payload_type, len(payload), payload)
    (signature,) = envelope["signatures"]
    assert signature["keyid"] == hashlib.sha256(raw_key).hexdigest()
    VerifyKey(raw_key).verify(pae, base64.b64decode(signature["sig"]))
    answer: dict[str, Any] = json.loads(payload)
    return answer


async def test_the_bulk_check_answers_every_kind_from_the_listings_in_force(
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    clock: ManualClock,
    role_tokens: dict[Role, str],
) -> None:
    await adopt_rules(services, clock)
    await services.federation.ensure_association(PANEL, "中国信息通信研究院", "CAICT")
    members = await committee(services, association, 3)
    panel = await committee(services, PANEL, 3)

    general, general_case = await listed_vendor(services, association, clock, "chk-general")
    general_listing = await _list(services, members, general_case, Tier.GENERAL, clock)
    appealed, appealed_case = await listed_vendor(services, association, clock, "chk-appeal")
    await _list(services, members, appealed_case, Tier.GENERAL, clock)
    repaired, repaired_case = await listed_vendor(services, association, clock, "chk-repair")
    await _list(services, members, repaired_case, Tier.GENERAL, clock)

    listed_code = new_credit_code()
    nonmembers = [
        await _nonmember_case(services, SubjectKind.DOMAIN, "loan-example.com.cn"),
        await _nonmember_case(services, SubjectKind.DOMAIN, "github.io"),
        await _nonmember_case(services, SubjectKind.APP_ID, "com.kuaijie.loan"),
        await _nonmember_case(services, SubjectKind.CREDIT_CODE, listed_code),
    ]
    await _voting(services, clock, nonmembers)
    for case, tier in zip(
        nonmembers, [Tier.GENERAL, Tier.GENERAL, Tier.SERIOUS, Tier.SERIOUS], strict=True
    ):
        await _list(services, members, case, tier, clock)
    minor, minor_case = await listed_vendor(services, association, clock, "chk-minor")
    minor_listing = await _list(services, members, minor_case, Tier.MINOR, clock)

    token = await _token(services, Role.VENDOR_ADMIN, vendor="chk-general")
    # Every kind, listed and not, in the order asked, normalised.
    unknown_code = new_credit_code()
    results = await _listed(
        api,
        token,
        [
            ("credit_code", listed_code.lower()),
            ("credit_code", unknown_code),
            ("domain", "Loan-Example.com.cn."),
            ("domain", "m.shop.loan-example.com.cn"),
            ("domain", "example.com.cn"),
            ("domain", "other-loan-example.com.cn"),
            ("domain", "github.io"),
            ("domain", "someone.github.io"),
            ("app_id", "com.kuaijie.loan"),
            ("app_id", "com.kuaijie.loan.pro"),
            ("vendor", "chk-general"),
            ("vendor", "chk-unlisted"),
            ("credit_code", general.credit_code),
            ("domain", "chk-general.example.cn"),
        ],
    )
    assert _flags(results) == [
        True,
        False,
        True,
        True,  # a subdomain of a listed domain
        False,  # a parent is not covered by its child's listing
        False,  # a name that only ends alike
        True,  # a public suffix listed matches itself...
        False,  # ...and never the names registered under it
        True,
        False,
        True,
        False,
        True,  # a listed member vendor is known by its credit code
        False,  # its domain claim is still pending: not the vendor's yet
    ]
    assert results[0]["value"] == listed_code
    assert results[0]["tier"] == "serious"
    assert results[1] == {"kind": "credit_code", "value": unknown_code, "listed": False}
    assert results[2]["value"] == "loan-example.com.cn"
    (parent,) = results[3]["listings"]
    assert parent["matched"] == {"kind": "domain", "value": "loan-example.com.cn"}
    assert parent["subject"] == {"kind": "domain", "value": "loan-example.com.cn"}
    (own,) = results[10]["listings"]
    assert own["listing"] == general_listing.id
    assert own["case"] == general_case.reference
    assert own["tier"] == "general" == results[10]["tier"]
    assert own["published_until"] == general_listing.published_until.isoformat().replace(
        "+00:00", "Z"
    )
    assert results[12]["listings"][0]["subject"] == {"kind": "vendor", "value": "chk-general"}
    assert results[12]["listings"][0]["matched"]["kind"] == "credit_code"

    # The vendor proves its domain: from that commit on the domain is an identifier of
    # its listing, and its subdomains with it.
    await services.domains.record_demo_proof("chk-general", "chk-general.example.cn")
    results = await _listed(
        api,
        token,
        [("domain", "chk-general.example.cn"), ("domain", "www.chk-general.example.cn")],
    )
    assert _flags(results) == [True, True]
    assert results[1]["listings"][0]["listing"] == general_listing.id

    # The snapshot serial the answer was read from.
    response = await _check(api, token, [("vendor", "chk-minor")])
    body = response.json()
    async with services.ctx.db.read() as session:
        head = await latest_snapshot(session)
    assert head is not None  # every listing published or ended signed a snapshot
    assert (body["serial"], body["snapshot_digest"]) == (head.serial, head.digest)

    # Signed: the same answer as a DSSE envelope by the federation key.
    asked = [("vendor", "chk-minor"), ("domain", "shop.loan-example.com.cn"), ("app_id", "x.y")]
    response = await _check(api, await _token(services, Role.MEDIATOR), asked, signed="true")
    assert response.status_code == 200, response.text
    envelope = response.json()
    assert envelope["payloadType"] == CHECK_PAYLOAD_TYPE
    key = (await api.get("/api/v1/federation/key")).json()
    signed = verify_answer(response.content, PublicKey.from_base64(key["public_key"]))
    assert signed == _verify_with_pynacl(envelope, key["public_key"])
    assert _flags(signed["results"]) == [True, True, False]
    assert signed["results"][0]["tier"] == "minor"
    # The payload is the answer's RFC 8785 form, as the general canonicaliser writes it.
    payload = base64.b64decode(envelope["payload"])
    assert canonicalize(json.loads(payload)) == payload
    in_body = await api.post(
        "/api/v1/blacklist/check",
        headers=_auth(token),
        json={"identifiers": [{"kind": "vendor", "value": "chk-minor"}], "signed": True},
    )
    assert "payloadType" in in_body.json()

    tampered = json.loads(payload)
    tampered["results"][0]["listed"] = False
    forged = {**envelope, "payload": base64.b64encode(canonicalize(tampered)).decode()}
    with pytest.raises(BadSignatureError):
        _verify_with_pynacl(forged, key["public_key"])
    with pytest.raises(InvalidSignature):
        verify_answer(json.dumps(forged).encode(), PublicKey.from_base64(key["public_key"]))

    # Retracted on appeal: no longer listed, by any of the vendor's identifiers.
    appeal = await services.blacklist_remedies.appeal(
        await services.accounts.authenticate(
            await _token(services, Role.VENDOR_ADMIN, vendor=appealed.slug)
        ),
        appealed_case.reference,
        appeal_envelope(
            appealed.key,
            case=appealed_case.reference,
            vendor=appealed.slug,
            grounds="投诉已全部退款。",
            issued_at=clock.now(),
        ),
    )
    for member in panel:
        await services.blacklist_committee.vote(
            member.caller,
            appealed_case.reference,
            ballot_vote(
                member,
                appealed_case,
                VoteChoice.OVERTURN,
                ballot=f"appeal:{appeal.id}",
                now=clock,
            ),
        )
    token = await _token(services, Role.FEDERATION_ADMIN)
    results = await _listed(
        api,
        token,
        [("vendor", "chk-appeal"), ("credit_code", appealed.credit_code), ("vendor", "chk-repair")],
    )
    assert _flags(results) == [False, False, True]

    # Past its end the minor listing is not listed, before the job records its expiry
    # and after; the repaired one from the repair's commit on.
    clock.set(minor_listing.published_until)
    token = await _token(services, Role.AUDITOR)
    minor_ids = [("vendor", "chk-minor"), ("credit_code", minor.credit_code)]
    assert _flags(await _listed(api, token, minor_ids)) == [False, False]
    assert await services.blacklist_remedies.expire_listings() == 1
    assert _flags(await _listed(api, token, minor_ids)) == [False, False]
    repair = await services.blacklist_remedies.repair(
        await services.accounts.authenticate(
            await _token(services, Role.VENDOR_ADMIN, vendor=repaired.slug)
        ),
        repaired_case.reference,
        repair_envelope(
            repaired.key,
            case=repaired_case.reference,
            vendor=repaired.slug,
            commitment="承诺七日内退款。",
            changes="上线自动退款流程。",
            issued_at=clock.now(),
            remediation_digests=["ab" * 32],
        ),
    )
    for member in members:
        await services.blacklist_committee.vote(
            member.caller,
            repaired_case.reference,
            ballot_vote(
                member, repaired_case, VoteChoice.GRANT, ballot=f"repair:{repair.id}", now=clock
            ),
        )
    results = await _listed(
        api, token, [("vendor", "chk-repair"), ("vendor", "chk-general"), ("domain", "github.io")]
    )
    assert _flags(results) == [False, True, True]


async def test_one_problem_names_the_first_bad_identifier_and_who_may_check(
    api: httpx.AsyncClient, services: Services, role_tokens: dict[Role, str]
) -> None:
    token = role_tokens[Role.ASSOCIATION_ADMIN]
    good = [("credit_code", new_credit_code()), ("domain", "shop.example.cn")]
    cases = [
        (("credit_code", "91110000MA01ABCDE1"), "check character"),
        (("credit_code", "9111000"), "18 characters"),
        (("domain", "https://shop.example.cn/"), "domain name"),
        (("domain", "localhost"), "domain name"),
        (("app_id", "-x"), "app id"),
        (("vendor", "Not A Slug"), "slug"),
        (("phone", "13800138000"), "kind must be one of"),
    ]
    for bad, words in cases:
        response = await _check(api, token, [*good, bad, ("credit_code", "also bad")])
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["errors"] == {"identifiers[2]": problem["errors"]["identifiers[2]"]}
        assert words in problem["detail"]
        assert f"identifier 2 ({bad[0]} {bad[1]!r})" in problem["detail"]

    over = [("app_id", f"com.example.app{i}") for i in range(10_001)]
    response = await _check(api, token, over)
    assert response.status_code == 422
    assert response.json()["errors"] == {"identifiers[10000]": "beyond the limit"}
    assert "'com.example.app10000'" in response.json()["detail"]
    assert (await _check(api, token, [])).status_code == 422
    malformed = await api.post(
        "/api/v1/blacklist/check", headers=_auth(token), json={"identifiers": [{"kind": 1}]}
    )
    assert malformed.status_code == 400

    anonymous = await api.post(
        "/api/v1/blacklist/check", json={"identifiers": [{"kind": "vendor", "value": "x"}]}
    )
    assert anonymous.status_code == 401
    for role, status in (
        (Role.FEDERATION_ADMIN, 200),
        (Role.COMMITTEE_MEMBER, 200),
        (Role.MEDIATOR, 200),
        (Role.AUDITOR, 200),
        (Role.GOVERNMENT_PARTNER, 403),
    ):
        response = await _check(api, role_tokens[role], good)
        assert response.status_code == status, (role, response.text)
    # An empty registry answers too: nothing listed, no snapshot yet.
    body = (await _check(api, token, good)).json()
    assert _flags(body["results"]) == [False, False]
    assert body["serial"] is None

    # The same from the command line, and the operator's reindex.
    url = ["--url", str(api.base_url), "--token", token]
    result = await run_cli(["blacklist", "check", "vendor:Acme", "domain:shop.example.cn", *url])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["results"][0] == {
        "kind": "vendor",
        "value": "acme",
        "listed": False,
    }
    result = await run_cli(["blacklist", "check", "phone:1380013800", *url])
    assert result.exit_code == 1
    assert "identifier 0 (phone '1380013800')" in result.output
    signed = await run_cli(["blacklist", "check", "app_id:com.x.y", "--signed", *url])
    assert json.loads(signed.output)["payloadType"] == CHECK_PAYLOAD_TYPE
    reindexed = await run_cli(["blacklist", "reindex"], operator_env(services))
    assert reindexed.exit_code == 0, reindexed.output
    assert json.loads(reindexed.output) == {"identifiers": 0}
