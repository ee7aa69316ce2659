"""A committee member's vote: the signed statement and the checks that admit it.

A vote is a DSSE envelope around an in-toto statement (predicate type `VOTE_PREDICATE`)
signed by the member's registered Ed25519 key. The statement's subject is the case, its
digest the SHA-256 of the evidence bundle the member saw; the predicate names the ballot
(`case:<id>`, `appeal:<id>` or `repair:<id>`), the choice, the tier of a `list` vote, a
reason and when it was signed::

    {"_type": "https://in-toto.io/Statement/v1",
     "subject": [{"name": "blacklist-case:BL-2026-000042",
                  "digest": {"sha256": "<evidence digest>"}}],
     "predicateType": "https://trust-registry.dev/attestations/blacklist-vote/v1",
     "predicate": {"ballot": "case:42", "case": "BL-2026-000042",
                   "evidence_sha256": "<evidence digest>", "choice": "list",
                   "tier": "general", "reason": "…", "issued_at": "2026-…Z"}}

`admit_vote` is a pure function of the envelope, what the registry knows of the key and
of the ballot, and the time: it either returns the vote to record or raises, and raising
writes nothing. The whole envelope goes into the vote's log leaf, so anyone can check the
signature and recount the ballot (`registry.blacklist.tally.recount`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

import msgspec

from attestations.envelope import Envelope, sign_envelope, verify_envelope
from attestations.errors import AttestationError
from attestations.keys import PublicKey, SigningKey
from attestations.statement import Subject, make_statement
from registry.blacklist.states import BALLOT_CHOICES, BallotKind, Tier, VoteChoice
from registry.errors import Conflict, InvalidInput, InvalidSignature, PermissionDenied
from registry.kernel.clock import isoformat
from registry.keys.models import KeyOwnerKind, KeyStatus
from registry.keys.services import refuse_if_revoked
from registry.settings import Settings
from registry.signed_statements import check_issued_at, decode_predicate, open_statement

VOTE_PREDICATE = "https://trust-registry.dev/attestations/blacklist-vote/v1"
CASE_SUBJECT_PREFIX = "blacklist-case:"
MAX_REASON_CHARS = 2000
"""A reason is a paragraph, not a document: longer evidence goes in by digest."""


class VotePredicate(msgspec.Struct, forbid_unknown_fields=True):
    """The predicate of a vote statement, exactly as signed."""

    ballot: str
    case: str
    evidence_sha256: str
    choice: str
    reason: str
    issued_at: str
    tier: str | None = None


@dataclass(frozen=True)
class BallotFacts:
    """What the registry knows of a ballot when a vote arrives."""

    kind: BallotKind
    ballot: str
    """`case:<id>`, `appeal:<id>` or `repair:<id>`."""
    case_reference: str
    evidence_digest: str
    open: bool
    """False before voting opens and after the ballot is decided or its deadline passed."""
    electorate: Mapping[int, int]
    """principal id → committee member id of everyone who may vote on this ballot: the
    governing committee, or the panel drawn for an appeal."""
    member_keys: Mapping[int, str]
    """committee member id → the key id registered for its votes."""
    recused: frozenset[int]
    """Member ids recused from this ballot (affiliation, declared conflict, or by choice)."""
    voted: Mapping[int, str]
    """member id → envelope digest of the vote it already cast on this ballot."""


@dataclass(frozen=True)
class KeyFacts:
    """The registry's row for the key a vote names (None when it is not registered)."""

    owner_kind: KeyOwnerKind
    principal_id: int | None
    public_key: bytes
    status: KeyStatus
    revoked_at: datetime | None


@dataclass(frozen=True)
class AdmittedVote:
    """A vote that passed every check: what to record and log."""

    member_id: int
    principal_id: int
    key_id: str
    choice: VoteChoice
    tier: Tier | None
    reason: str
    signed_at: datetime
    envelope_digest: str
    repeat: bool = False
    """The same envelope was already recorded: answer with the stored vote, write nothing."""


class VoteRefused(PermissionDenied):
    """A vote by a key or member that may not vote on this ballot; nothing is written."""

    code = "vote-refused"


def vote_envelope(
    key: SigningKey,
    *,
    ballot: str,
    case_reference: str,
    evidence_digest: str,
    choice: VoteChoice,
    reason: str,
    issued_at: datetime,
    tier: Tier | None = None,
) -> Envelope:
    """A member's signed vote; the CLI, the demo and the tests all build votes here."""
    predicate: dict[str, object] = {
        "ballot": ballot,
        "case": case_reference,
        "evidence_sha256": evidence_digest,
        "choice": choice.value,
        "reason": reason,
        "issued_at": isoformat(issued_at),
    }
    if tier is not None:
        predicate["tier"] = tier.value
    subject = Subject(
        name=f"{CASE_SUBJECT_PREFIX}{case_reference}", digest={"sha256": evidence_digest}
    )
    statement = make_statement([subject], VOTE_PREDICATE, predicate)
    return sign_envelope(statement.to_bytes(), [key])


def read_vote(envelope: Envelope) -> VotePredicate:
    """The vote's predicate, its subject checked against it (InvalidInput otherwise)."""
    statement = open_statement(envelope, VOTE_PREDICATE)
    predicate = decode_predicate(statement, VotePredicate)
    subjects = [s for s in statement.subject if s.name == f"{CASE_SUBJECT_PREFIX}{predicate.case}"]
    if len(subjects) != 1 or subjects[0].digest.get("sha256") != predicate.evidence_sha256:
        raise InvalidInput(
            "the statement's subject must be the case named in the predicate, with the "
            "evidence digest the member saw",
            fields={"subject": "does not match the predicate's case and evidence_sha256"},
        )
    return predicate


def _choice(predicate: VotePredicate, kind: BallotKind) -> tuple[VoteChoice, Tier | None]:
    """The choice and tier, checked against what this kind of ballot accepts."""
    allowed = BALLOT_CHOICES[kind]
    try:
        choice = VoteChoice(predicate.choice)
    except ValueError:
        choice = None
    if choice is None or choice not in allowed:
        raise InvalidInput(
            f"a {kind.value} ballot accepts "
            + ", ".join(sorted(c.value for c in allowed))
            + f", not {predicate.choice!r}",
            fields={"choice": "not a choice of this ballot"},
        )
    if choice is VoteChoice.LIST:
        try:
            return choice, Tier(predicate.tier or "")
        except ValueError:
            raise InvalidInput(
                "a vote to list names the tier: minor, general or serious",
                fields={"tier": "missing or unknown"},
            ) from None
    if predicate.tier is not None:
        raise InvalidInput(
            f"only a vote to list names a tier; {choice.value} does not",
            fields={"tier": "only with choice list"},
        )
    return choice, None


def _statement_for(
    envelope: Envelope, ballot: BallotFacts
) -> tuple[VotePredicate, VoteChoice, Tier | None]:
    """The vote's predicate, choice and tier, checked to be about exactly this ballot."""
    if len(envelope.signatures) != 1:
        raise InvalidInput(
            "a vote carries exactly one signature: the member's own",
            fields={"signatures": "exactly one"},
        )
    predicate = read_vote(envelope)
    if predicate.ballot != ballot.ballot or predicate.case != ballot.case_reference:
        raise InvalidInput(
            f"this vote is for {predicate.ballot} on {predicate.case}, not for "
            f"{ballot.ballot} on {ballot.case_reference}",
            fields={"ballot": "another ballot"},
        )
    if predicate.evidence_sha256 != ballot.evidence_digest:
        raise InvalidInput(
            "the vote names evidence other than the case's: read the case again and vote "
            "on its evidence digest " + ballot.evidence_digest,
            fields={"evidence_sha256": "not the case's evidence digest"},
        )
    choice, tier = _choice(predicate, ballot.kind)
    if not predicate.reason.strip() or len(predicate.reason) > MAX_REASON_CHARS:
        raise InvalidInput(
            f"a vote gives its reason, in at most {MAX_REASON_CHARS} characters",
            fields={"reason": "empty or too long"},
        )
    return predicate, choice, tier


def admit_vote(
    envelope: Envelope,
    ballot: BallotFacts,
    keys: Mapping[str, KeyFacts],
    *,
    now: datetime,
    settings: Settings,
) -> AdmittedVote:
    """Check a vote against the ballot and the registry's keys; raise or return it.

    Refused, in this order: a malformed statement or one about another ballot, case or
    evidence (InvalidInput); an unregistered, revoked, pending or tampered key
    (InvalidSignature); a key of someone outside this ballot's electorate, a recused
    member, or a member voting with a key other than the one registered for votes
    (VoteRefused); a closed ballot or a second, different vote (Conflict).
    """
    predicate, choice, tier = _statement_for(envelope, ballot)
    signed_at = check_issued_at(predicate.issued_at, now, settings)
    key_id = envelope.signatures[0].keyid
    key = keys.get(key_id)
    if key is None:
        raise InvalidSignature(f"signing key {key_id} is not registered")
    refuse_if_revoked(key_id, key.revoked_at, signed_at, now)
    if key.status is not KeyStatus.ACTIVE:
        raise InvalidSignature(f"signing key {key_id} is not active")
    try:
        verify_envelope(envelope, {key_id: PublicKey(key.public_key)})
    except AttestationError as exc:
        raise InvalidSignature(exc.reason) from exc
    member_id = (
        ballot.electorate.get(key.principal_id)
        if key.owner_kind is KeyOwnerKind.PRINCIPAL and key.principal_id is not None
        else None
    )
    if member_id is None:
        raise VoteRefused(
            f"key {key_id} belongs to no member who may vote on {ballot.ballot}: only the "
            "governing committee votes on a case, and only the drawn panel on an appeal"
        )
    if ballot.member_keys.get(member_id) != key_id:
        raise VoteRefused(f"key {key_id} is not the key registered for this member's votes")
    if member_id in ballot.recused:
        raise VoteRefused(f"the member is recused from {ballot.ballot} and may not vote on it")
    digest = envelope.digest()
    assert key.principal_id is not None  # noqa: S101 - a member's key names its principal
    vote = AdmittedVote(
        member_id=member_id,
        principal_id=key.principal_id,
        key_id=key_id,
        choice=choice,
        tier=tier,
        reason=predicate.reason,
        signed_at=signed_at,
        envelope_digest=digest,
    )
    earlier = ballot.voted.get(member_id)
    if earlier is not None:
        if earlier == digest:
            return replace(vote, repeat=True)
        raise Conflict(f"the member has already voted on {ballot.ballot}; a vote is final")
    if not ballot.open:
        raise Conflict(f"{ballot.ballot} is not open for votes")
    return vote
