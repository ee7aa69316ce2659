"""The blacklist's whole story for one vendor, as the README's walkthrough tells it, with a
controlled clock: consumer complaints over HTTP that the vendor concedes open a case
citing the rule; the vendor is notified, answers with a signed envelope; the committee's
signed votes list it (general), which suspends its certificate and badge; its appeal is
heard by a panel of the other association drawn from a logged seed, which upholds the
listing; three months on, credit repair granted by signed votes ends the listing early,
lifts the listing's cause and starts the watch period.

Every signed step goes through the real `registry` commands (signing with `--now`, the
server's clock being the test's) and every check reads what a user or the public reads:
the API, the badge, the log. The answer window runs over China's National Day holiday
(1-7 October 2026, with the make-up working Saturday of 10 October).
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from public_site.badges.rendering import badge_message
from registry.blacklist.models import Appeal, Listing
from registry.blacklist.panels import Candidate, check_draw, panel_seed
from registry.blacklist.remedies import log_root
from registry.blacklist.states import ListingState
from registry.certification.signing import attestation_envelope
from registry.certification.verdict import VerdictKind
from registry.federation.models import Association
from registry.kernel.clock import ManualClock, isoformat, parse_iso
from registry.membership.models import Vendor
from registry.notifications.models import OutboxMessage
from registry.services import Services
from tests.cli import operator_env, run_cli
from tests.factories import member_vendor
from tests.integration.test_blacklist_votes import committee

SLUG = "yunfan-cloud"
RULE = "complaints-substantiated@1"
COMPLAINTS_FILED = datetime(2026, 9, 28, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Beijing
ANSWER_DUE = "2026-10-16T16:00:00Z"  # 10 working days: the holiday does not count
DAY = timedelta(days=1)


async def _cli(args: list[str], env: dict[str, str] | None = None) -> Any:
    result = await run_cli(args, env)
    assert result.exit_code == 0, result.output
    text = result.output
    start = min(i for i in (text.find("{"), text.find("[")) if i >= 0)
    return json.loads(text[start:])


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _leaf(api: httpx.AsyncClient, index: int) -> dict[str, Any]:
    """A log entry as anyone reads it, with its type and body."""
    answer = await api.get(f"/api/v1/log/entries?vendor={SLUG}&page_size=100")
    assert answer.status_code == 200, answer.text
    entries = {item["index"]: item for item in answer.json()["items"]}
    entry: dict[str, Any] = entries[index]
    return entry


async def _public(api: httpx.AsyncClient) -> tuple[dict[str, Any], dict[str, Any], str]:
    """The certificate, the badge's shields.io JSON and its SVG, as the public sees them.

    Badges are memoised per worker until its poll sees the log grow (within
    `public_cache_poll_interval`, 0.5 s; the README promises 2 s), so a badge is read
    until it shows the certificate's state, for at most 3 s.
    """
    certificate = (await api.get(f"/api/v1/vendors/{SLUG}/certification")).json()
    shows = "certified" if certificate["state"] == "active" else certificate["state"]
    deadline = time.monotonic() + 3
    while True:
        badge = (await api.get(f"/badges/{SLUG}.json", params={"lang": "en"})).json()
        if badge["message"].startswith(shows) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    svg = (await api.get(f"/badges/{SLUG}.svg", params={"lang": "en"})).text
    return certificate, badge, svg


async def test_from_complaints_to_credit_repair(
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    url = ["--url", str(api.base_url)]
    env = operator_env(services)

    # The set-up the demo has: a certified member vendor of csia, the default rulebook in
    # force, three committee members in each association (their keys in files).
    clock.set(COMPLAINTS_FILED - 45 * DAY)
    assert await services.blacklist_rules.publish_default_rulebooks() == ["csia@1"]
    await services.federation.ensure_association("sipa", "上海市软件行业协会", "SIPA")
    vendor = await member_vendor(services, association, SLUG)
    await services.attestations.submit(
        await services.accounts.authenticate(vendor.token),
        SLUG,
        attestation_envelope(
            vendor.key,
            vendor=SLUG,
            period=(clock.now() - 30 * DAY, clock.now() - DAY),
            issued_at=clock.now(),
        ),
    )
    vendor_key = tmp_path / f"{SLUG}.key"
    vendor.key.save(vendor_key)
    keys: dict[str, list[Path]] = {}
    for slug in ("csia", "sipa"):
        keys[slug] = []
        for n, member in enumerate(await committee(services, slug, 3), start=1):
            path = tmp_path / f"committee-{slug}-{n}.key"
            member.key.save(path)
            keys[slug].append(path)
    certificate, badge, _ = await _public(api)
    assert (certificate["state"], certificate["certified"]) == ("active", True)

    def now() -> list[str]:
        return ["--now", isoformat(clock.now())]

    # 1. Five complaints from three consumers, filed over HTTP; the vendor concedes each
    #    and its consumer accepts: substantiated. The fifth opens the case at once.
    async def vendor_case() -> dict[str, Any]:
        """The case as the vendor reads it, logged in afresh (a token lives an hour)."""
        token = (await run_cli(["login", "--key", str(vendor_key), "--token-only", *url])).output
        answer = await api.get(f"/api/v1/blacklist/cases/{reference}", headers=_auth(token.strip()))
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    clock.set(COMPLAINTS_FILED)
    vendor_token = (
        await run_cli(["login", "--key", str(vendor_key), "--token-only", *url])
    ).output.strip()
    codes = []
    for i in range(5):
        filed = await api.post(
            "/api/v1/complaints/",
            json={
                "vendor": SLUG,
                "product": "云盘会员",
                "category": "billing_refund",
                "description": "取消续费后仍被扣款，客服不予退款。",
                "desired_remedy": "退款",
                "region": "110000",
                "occurred_on": (clock.now() - 3 * DAY).date().isoformat(),
                "contact_name": "消费者",
                "contact_phone": f"1390013{i % 3:04d}",
                "consent_to_share": True,
            },
        )
        assert filed.status_code == 201, filed.text
        code, secret = filed.json()["tracking_code"], filed.json()["secret"]
        conceded = await api.post(
            f"/api/v1/inbox/complaints/{code}/proposal",
            headers=_auth(vendor_token),
            json={"proposal": "全额退款", "concede": True},
        )
        assert conceded.status_code == 200, conceded.text
        accepted = await api.post(
            f"/api/v1/complaints/{code}/accept", headers={"X-Complaint-Secret": secret}
        )
        assert accepted.status_code == 200, accepted.text
        codes.append(code)

    # The scheduled evaluation finds the case covered: it opens nothing more.
    evaluated = await _cli(["blacklist", "evaluate", *now()], env)
    assert evaluated["opened"] == []
    assert evaluated["rules_holding"] >= 1

    # 2. The vendor is notified: its inbox, and the webhook outbox.
    inbox = (
        await api.get(f"/api/v1/blacklist/vendors/{SLUG}/cases", headers=_auth(vendor_token))
    ).json()
    assert len(inbox["items"]) == 1
    reference = inbox["items"][0]["reference"]
    listed_refs = await run_cli(
        ["blacklist", "cases", "--vendor", SLUG, "--token", vendor_token, "--references-only", *url]
    )
    assert listed_refs.output == f"{reference}\n"  # CASE=$(registry blacklist cases …)
    case = (
        await api.get(f"/api/v1/blacklist/cases/{reference}", headers=_auth(vendor_token))
    ).json()
    assert (case["state"], case["rule"], case["tier_proposed"]) == (
        "awaiting_answer",
        RULE,
        "general",
    )
    assert case["answer_due_at"] == ANSWER_DUE
    evidence = case["evidence"]
    assert sorted(item["ref"] for item in evidence["items"]) == sorted(codes)
    assert evidence["counts"] == {"substantiated": 5, "distinct_complainants": 3}
    assert {item["complainant"] for item in evidence["items"]} == {"c1", "c2", "c3"}
    opened = await _leaf(api, case["log_index"])
    assert opened["type"] == "blacklist.case.opened"
    assert opened["entry"]["body"]["evidence_digest"] == case["evidence_digest"]
    assert "1390013" not in json.dumps(opened)  # no contact, not even in part
    async with services.ctx.db.read() as session:
        events = set(
            (
                await session.execute(
                    select(OutboxMessage.event)
                    .join(Vendor, Vendor.id == OutboxMessage.vendor_id)
                    .where(Vendor.slug == SLUG)
                )
            ).scalars()
        )
    assert {"blacklist.opened", "blacklist.notified"} <= events
    replayed = await _cli(["blacklist", "replay", reference], env)
    assert replayed["reproduced"] is True

    # 3. The vendor answers the next day with a signed statement: voting opens.
    clock.advance(DAY)
    answered = await _cli(
        [
            "blacklist",
            "answer",
            reference,
            "--key",
            str(vendor_key),
            "--vendor",
            SLUG,
            "--statement",
            "扣费系计费系统缺陷所致，已全额退款。",
            "--remedy",
            "全额退款",
            *now(),
            *url,
        ]
    )
    assert answered["state"] == "voting"
    assert answered["answer"]["key_id"] == vendor.key.key_id
    assert (await _leaf(api, answered["answer"]["log_index"]))["type"] == "blacklist.case.answered"

    # 4. The csia committee votes, each with a signed envelope: listed, general.
    clock.advance(DAY)
    for path in keys["csia"]:
        voted = await _cli(
            [
                "blacklist",
                "vote",
                reference,
                "--key",
                str(path),
                "--choice",
                "list",
                "--tier",
                "general",
                "--reason",
                "五起投诉经调解成立，涉及三名消费者",
                *now(),
                *url,
            ]
        )
        assert (voted["ballot"].split(":")[0], voted["tier"]) == ("case", "general")
        leaf = await _leaf(api, voted["log_index"])
        assert leaf["type"] == "blacklist.case.vote"
        assert leaf["entry"]["body"]["envelope"]["signatures"]  # the whole signed vote
    case = await vendor_case()
    assert case["state"] == "listed"
    listed_step = next(s for s in case["steps"] if s["kind"] == "listed")
    listed = (await _leaf(api, listed_step["log_index"]))["entry"]["body"]
    assert (listed["tier"], listed["rule"]) == ("general", RULE)
    published_from = parse_iso(listed["published_from"])
    assert parse_iso(listed["published_until"]) - published_from >= 180 * DAY  # 6 months

    # The certificate is suspended under the listing's own cause; the badge says so.
    certificate, badge, svg = await _public(api)
    assert (certificate["state"], certificate["certified"]) == ("suspended", False)
    assert [c["owner"] for c in certificate["causes"]] == [f"listing:{listed['listing']}"]
    assert badge["message"] == badge_message(VerdictKind.SUSPENDED, None, "en")
    assert badge_message(VerdictKind.SUSPENDED, None, "en") in svg
    shown = await _cli(["certificate", SLUG, *url])
    assert shown["state"] == "suspended"

    # 5. After the holiday the vendor appeals with a signed envelope: a panel of three
    #    sipa members is drawn at once, from a seed anyone recomputes from the log.
    clock.set(datetime(2026, 10, 8, 2, 0, tzinfo=UTC))
    appeal = await _cli(
        [
            "blacklist",
            "appeal",
            reference,
            "--key",
            str(vendor_key),
            "--vendor",
            SLUG,
            "--grounds",
            "扣费系支付渠道故障，已全额退款并修复。",
            *now(),
            *url,
        ]
    )
    assert appeal["state"] == "hearing"
    assert len(appeal["panel"]) == 3
    case = await vendor_case()
    drawn_step = next(s for s in case["steps"] if s["kind"] == "panel_drawn")
    drawn = (await _leaf(api, drawn_step["log_index"]))["entry"]["body"]
    assert drawn["seed"] == appeal["panel_seed"]
    async with services.ctx.db.read() as session:
        root = await log_root(session, drawn["seed_inputs"]["log_size"])
        sipa = (
            await session.execute(select(Association.id).where(Association.slug == "sipa"))
        ).scalar_one()
    assert drawn["seed"] == panel_seed(
        appeal_id=appeal["id"],
        case_reference=reference,
        log_size=drawn["seed_inputs"]["log_size"],
        log_root=root,
    )
    candidates = [Candidate.from_json(c) for c in drawn["candidates"]]
    assert {c.association_id for c in candidates} == {sipa}
    assert check_draw(drawn["seed"], candidates, drawn["size"], appeal["panel"])

    # 6. The panel upholds the listing: it stands, and so does the suspension.
    clock.advance(DAY)
    for path in keys["sipa"]:
        heard = await _cli(
            [
                "blacklist",
                "vote",
                reference,
                "--key",
                str(path),
                "--choice",
                "uphold",
                "--reason",
                "投诉事实清楚，列入适当",
                *now(),
                *url,
            ]
        )
        assert heard["ballot"] == f"appeal:{appeal['id']}"
    async with services.ctx.db.read() as session:
        heard_appeal = await session.get(Appeal, appeal["id"])
        assert heard_appeal is not None
        assert heard_appeal.state.value == "upheld"
    case = await vendor_case()
    assert case["state"] == "listed"
    decided_step = next(s for s in case["steps"] if s["kind"] == "appeal_decided")
    heard_leaf = await _leaf(api, decided_step["log_index"])
    assert heard_leaf["type"] == "blacklist.case.appeal_decided"
    assert heard_leaf["entry"]["body"]["outcome"] == "upheld"
    certificate, badge, _ = await _public(api)
    assert certificate["state"] == "suspended"

    # 7. Credit repair opens three months after publication: a day early it is refused
    #    with the date it opens; from then, the vendor applies with a signed envelope.
    repair_args = [
        "blacklist",
        "repair",
        reference,
        "--key",
        str(vendor_key),
        "--vendor",
        SLUG,
        "--commitment",
        "七日内退款，并公开处理结果",
        "--changes",
        "上线自动退款流程，修复计费缺陷",
    ]
    opens = datetime(2026, 12, 30, tzinfo=UTC)
    assert published_from.date() == datetime(2026, 9, 30, tzinfo=UTC).date()
    clock.set(opens - DAY)
    early = await run_cli([*repair_args, *now(), *url])
    assert early.exit_code == 1
    assert "3 months after publication" in early.output
    assert "2026-12-30" in early.output
    clock.set(datetime(2027, 1, 4, 2, 0, tzinfo=UTC))  # the first Monday it is open
    repair = await _cli([*repair_args, *now(), *url])
    assert repair["state"] == "applied"
    assert repair["decision_due_at"] == "2027-01-18T16:00:00Z"  # 10 working days
    applied = (await _leaf(api, repair["log_index"]))["entry"]["body"]
    assert applied["fee"] == "none"

    # 8. The committee grants it by signed votes: delisted early, the listing's cause
    #    lifted, the badge certified again, and a watch period of 183 days.
    for path in keys["csia"]:
        await _cli(
            [
                "blacklist",
                "vote",
                reference,
                "--key",
                str(path),
                "--choice",
                "grant",
                "--reason",
                "已退款并整改，承诺可信",
                *now(),
                *url,
            ]
        )
    case = await vendor_case()
    decided = next(s for s in case["steps"] if s["kind"] == "repair_decided")
    body = (await _leaf(api, decided["log_index"]))["entry"]["body"]
    assert body["outcome"] == "granted"
    assert parse_iso(body["watch_until"]) == clock.now() + 183 * DAY
    async with services.ctx.db.read() as session:
        listing = (
            await session.execute(select(Listing).where(Listing.id == listed["listing"]))
        ).scalar_one()
    assert (listing.state, listing.end_ref) == (ListingState.REPAIRED, f"repair:{repair['id']}")
    assert listing.ended_at is not None
    assert listing.ended_at < listing.published_until
    certificate, badge, svg = await _public(api)
    assert (certificate["state"], certificate["certified"], certificate["causes"]) == (
        "active",
        True,
        [],
    )
    assert badge["message"] == badge_message(VerdictKind.CERTIFIED, certificate["level"], "en")
    history = await _cli(["certificate", SLUG, "--history", *url])
    assert [(t["from_state"], t["to_state"]) for t in history["history"][-2:]] == [
        ("active", "suspended"),
        ("suspended", "active"),
    ]

    # Anyone recounts every ballot from the logged envelopes, and replays the evidence.
    recounted = await _cli(["blacklist", "recount", reference], env)
    assert [(r["ballot"].split(":")[0], r["agrees"]) for r in recounted] == [
        ("case", True),
        ("appeal", True),
        ("repair", True),
    ]
