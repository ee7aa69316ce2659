"""Recounting a case's ballots from the transparency log alone.

For each decided ballot of a case (the case itself, an appeal, a repair) the vote leaves
are read back from the log, every envelope is verified under the public key its member
was appointed with (also a log leaf), and the votes are counted again with the rule and
the number of eligible members the decision leaf states. The recount must equal the
tally recorded on the decision: `registry blacklist recount CASE` exits non-zero when it
does not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from attestations.envelope import Envelope
from attestations.keys import PublicKey
from registry.blacklist.committee import parse_ballot
from registry.blacklist.lookups import case_by_reference
from registry.blacklist.models import CaseStep, CommitteeMember
from registry.blacklist.states import StepKind
from registry.blacklist.tally import LoggedVote, TallyError, VotingRule, recount
from registry.context import RegistryContext
from registry.keys.models import SigningKeyRecord
from registry.transparency.models import LogEntry

_DECISIONS = (StepKind.DECIDED, StepKind.LAPSED, StepKind.APPEAL_DECIDED, StepKind.REPAIR_DECIDED)


@dataclass(frozen=True)
class Recount:
    """One ballot's recorded tally and the tally recomputed from the log."""

    case: str
    ballot: str
    recorded: dict[str, Any]
    recomputed: dict[str, Any] | None
    error: str | None = None

    @property
    def agrees(self) -> bool:
        """True when the log reproduces the recorded decision."""
        return self.error is None and self.recomputed == self.recorded


async def _leaf_body(session: AsyncSession, index: int) -> dict[str, Any]:
    leaf = (
        await session.execute(select(LogEntry.leaf).where(LogEntry.index == index))
    ).scalar_one()
    body: dict[str, Any] = json.loads(leaf)["body"]
    return body


async def recount_case(session: AsyncSession, case_id: int, reference: str) -> list[Recount]:
    """Recount every decided ballot of one case from its log leaves."""
    steps = list(
        (
            await session.execute(
                select(CaseStep).where(CaseStep.case_id == case_id).order_by(CaseStep.id)
            )
        ).scalars()
    )
    results: list[Recount] = []
    for decision in (s for s in steps if s.kind in _DECISIONS):
        body = await _leaf_body(session, decision.log_index)
        ballot, recorded = body["ballot"], body["tally"]
        kind, _number = parse_ballot(ballot)
        logged: list[LoggedVote] = []
        keys: dict[int, PublicKey] = {}
        for vote in (s for s in steps if s.kind is StepKind.VOTE):
            leaf = await _leaf_body(session, vote.log_index)
            if leaf["ballot"] != ballot:
                continue
            member = int(leaf["member"])
            logged.append(LoggedVote(member, Envelope.from_dict(leaf["envelope"])))
            keys[member] = await _appointed_key(session, member)
        try:
            recomputed = recount(
                kind,
                ballot,
                rule=VotingRule.from_json(recorded["rule"]),
                eligible=int(recorded["eligible"]),
                logged=logged,
                member_keys=keys,
            ).to_json()
        except TallyError as exc:
            results.append(Recount(reference, ballot, recorded, None, str(exc)))
            continue
        results.append(Recount(reference, ballot, recorded, recomputed))
    return results


async def _appointed_key(session: AsyncSession, member_id: int) -> PublicKey:
    """The public key a member was appointed with, as its appointment leaf states it (the
    key row for members registered without one)."""
    raw, index = (
        await session.execute(
            select(SigningKeyRecord.public_key, SigningKeyRecord.log_index)
            .join(CommitteeMember, CommitteeMember.key_id == SigningKeyRecord.key_id)
            .where(CommitteeMember.id == member_id)
        )
    ).one()
    if index is not None:
        logged = (await _leaf_body(session, index)).get("public_key")
        if isinstance(logged, str):
            return PublicKey.from_base64(logged)
    return PublicKey(raw)


class BlacklistRecountService:
    """Recounts for the CLI and the tests."""

    def __init__(self, ctx: RegistryContext) -> None:
        self.ctx = ctx

    async def recount(self, reference: str) -> list[Recount]:
        """Every decided ballot of the case, recounted from the log."""

        async with self.ctx.db.read() as session:
            case = await case_by_reference(session, reference)
            return await recount_case(session, case.id, case.reference)

    async def recount_all(self) -> list[Recount]:
        """Every decided ballot of every case."""
        from registry.blacklist.models import BlacklistCase

        async with self.ctx.db.read() as session:
            cases = (await session.execute(select(BlacklistCase.id, BlacklistCase.reference))).all()
            results: list[Recount] = []
            for case_id, reference in cases:
                results += await recount_case(session, case_id, reference)
            return results
