"""The members' bulk check: up to 10,000 identifiers against the listings in force at
once, answered from the latest blacklist snapshot, optionally signed by the federation.

Each worker keeps the identifier index in memory (`registry.blacklist.matching`) and
reads one row per request to know whether it is still current: the index's generation
(`registry.blacklist.identifiers`), together with the latest snapshot's serial, in one
statement. A change to the listings (published, ended, a listed vendor's
new domain) raises the generation in its own transaction, so the next request on every
worker rebuilds the index first and no answer is older than the commit before it. Only
the first request after a change pays for the rebuild; every other one costs that row
read and a dictionary look-up per identifier and per parent domain.

The answer (`BlacklistCheck`) names, for each identifier in the order asked, whether it
is listed, the most severe tier, and each listing in force that covers it (id, case,
tier, end of publication, subject, and the listing's identifier that matched), with the
`serial` and payload digest of the snapshot it was answered from. Signed, it is the same
document as the payload of a DSSE envelope by the federation key (payload type
`CHECK_PAYLOAD_TYPE`): a member can later prove what the list said, and when.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import compress, count, repeat
from typing import Any, Final

import msgspec

from attestations.canonical import canonicalize, parse_json
from attestations.envelope import Envelope, sign_envelope, verify_envelope
from attestations.errors import AttestationError
from attestations.keys import PublicKey
from registry.blacklist.identifiers import IndexHead, consistent_read, index_head, load_index
from registry.blacklist.matching import (
    IdentifierQuery,
    IdentifierRefused,
    ListingIndex,
    Match,
    Normalised,
    most_severe,
    normalise_batch,
)
from registry.blacklist.snapshots import latest_snapshot
from registry.context import RegistryContext
from registry.errors import InvalidInput, InvalidSignature, PermissionDenied
from registry.kernel.caller import Caller, Role
from registry.kernel.clock import isoformat

logger = logging.getLogger("registry.blacklist.check")

CHECK_PAYLOAD_TYPE: Final = "application/vnd.trust-registry.blacklist-check+json"
"""The DSSE payload type of a signed answer."""
CHECK_TYPE: Final = "https://trust-registry.dev/blacklist-check/v1"
"""The `_type` of the answer document, signed or not."""
CHECK_ROLES: Final = frozenset(
    {
        Role.VENDOR_ADMIN,
        Role.ASSOCIATION_ADMIN,
        Role.COMMITTEE_MEMBER,
        Role.MEDIATOR,
        Role.AUDITOR,
        Role.FEDERATION_ADMIN,
    }
)
"""Who may bulk-check: every principal acting for the federation, a member association or
a member vendor. Government partners are not among them: their access is to aggregate
reports, scoped by region and recorded per query; a listing's own record is public."""


# The answer's structs are not tracked by the garbage collector (`gc=False`): an answer
# makes ten thousand of them, which would otherwise set off collections that walk every
# object of the worker, the index included (tens of milliseconds each).


class CheckedIdentifier(msgspec.Struct, frozen=True, gc=False):
    """An identifier as the check names it: its kind and its normalised value."""

    kind: str
    """`vendor`, `domain`, `app_id` or `credit_code`."""
    value: str


class CheckListing(msgspec.Struct, frozen=True, gc=False):
    """A listing in force that covers the identifier."""

    listing: int
    """The listing's id."""
    case: str
    """The reference of the case that decided it (`BL-2026-000042`)."""
    tier: str
    """`minor`, `general` or `serious`."""
    published_until: str
    """When its publication ends (UTC)."""
    subject: CheckedIdentifier
    """Whom the listing is about (a member vendor's slug, or the unregistered subject)."""
    matched: CheckedIdentifier
    """The listing's identifier that matched: the one asked, a parent domain, or the
    listed vendor's credit code, slug or proven domain."""


class CheckResult(msgspec.Struct, frozen=True, omit_defaults=True, gc=False):
    """One identifier's answer; `tier` and `listings` only when it is listed."""

    kind: str
    value: str
    """Normalised: upper-case credit code, lower-case domain, slug in lower case."""
    listed: bool
    tier: str | None = None
    """The most severe tier among its listings."""
    listings: tuple[CheckListing, ...] = ()


class BlacklistCheck(msgspec.Struct, frozen=True):
    """The answer to a bulk check; signed, this exact document is the envelope's payload."""

    type: str = msgspec.field(name="_type")
    """Always `https://trust-registry.dev/blacklist-check/v1`."""
    serial: int | None
    """The serial of the blacklist snapshot the answer was read from (null before the
    first snapshot)."""
    snapshot_digest: str | None
    """That snapshot's payload digest (hex SHA-256)."""
    checked_at: str
    """When the registry answered (UTC)."""
    checked: int
    """How many identifiers were checked."""
    listed: int
    """How many of them are listed."""
    results: list[CheckResult]
    """One per identifier, in the order asked."""


@dataclass(frozen=True, slots=True)
class _Loaded:
    """The index a worker holds, with the snapshot read in the same database snapshot."""

    index: ListingIndex
    snapshot: IndexHead
    """The generation and snapshot the index was read with."""
    reported: dict[int, CheckListing] = field(default_factory=dict)
    """How each match of the index is reported, made once (by `id` of the match, which
    the index keeps alive): a listed vendor is asked about again and again."""

    def report(self, match: Match) -> CheckListing:
        """The answer's entry for one match."""
        entry = self.reported.get(id(match))
        if entry is None:
            listing = match.listing
            entry = self.reported[id(match)] = CheckListing(
                listing=listing.id,
                case=listing.case,
                tier=listing.tier.value,
                published_until=isoformat(listing.published_until),
                subject=CheckedIdentifier(listing.subject_kind, listing.subject_value),
                matched=CheckedIdentifier(match.kind, match.value),
            )
        return entry


class BlacklistCheckService:
    """Bulk checks against a per-worker index of the identifiers in force."""

    def __init__(self, ctx: RegistryContext) -> None:
        self.ctx = ctx
        self._loaded: _Loaded | None = None
        self._rebuilding = asyncio.Lock()

    async def check(self, caller: Caller, identifiers: Sequence[IdentifierQuery]) -> BlacklistCheck:
        """Check every identifier; InvalidInput names the first that is not one (or the
        first beyond the limit), and then nothing is checked."""
        if caller.role not in CHECK_ROLES:
            raise PermissionDenied(f"a {caller.role.value} may not bulk-check the blacklist")
        batch = _normalised(identifiers, self.ctx.settings.blacklist_check_max)
        loaded, snapshot = await self._current()
        now = self.ctx.clock.now()
        found = loaded.index.lookup(batch, now)
        # Every identifier unlisted in one C-level pass, then the listed ones (about one
        # in eight in a member's batch) replaced.
        results = list(map(CheckResult, batch.kinds, batch.values, repeat(False)))
        listed = 0
        for position in compress(count(), found):
            listed += 1
            results[position] = _listed(
                batch.kinds[position], batch.values[position], found[position], loaded
            )
        return BlacklistCheck(
            type=CHECK_TYPE,
            serial=snapshot.serial,
            snapshot_digest=snapshot.digest,
            checked_at=isoformat(now),
            checked=len(results),
            listed=listed,
            results=results,
        )

    def sign(self, answer: BlacklistCheck) -> Envelope:
        """The answer as a DSSE envelope signed by the federation key: its payload is the
        answer's RFC 8785 form."""
        return sign_envelope(
            answer_bytes(answer), [self.ctx.federation_key], payload_type=CHECK_PAYLOAD_TYPE
        )

    async def _current(self) -> tuple[_Loaded, IndexHead]:
        """The index of the identifiers in force now, and the snapshot it answers from."""
        async with self.ctx.db.read_rows() as connection:
            head = await index_head(connection)
        loaded = self._loaded
        if loaded is not None and loaded.index.generation == head.generation:
            return loaded, head
        async with self._rebuilding:
            loaded = self._loaded
            if loaded is None or loaded.index.generation < head.generation:
                async with consistent_read(self.ctx.db) as session:
                    index = await load_index(session)
                    snapshot = await latest_snapshot(session)
                loaded = self._loaded = _Loaded(
                    index,
                    IndexHead(
                        index.generation,
                        snapshot.serial if snapshot else None,
                        snapshot.digest if snapshot else None,
                    ),
                )
                logger.info(
                    "blacklist check index rebuilt",
                    extra={
                        "generation": index.generation,
                        "listings": index.listings,
                        "identifiers": index.identifiers,
                    },
                )
            return loaded, loaded.snapshot


def _normalised(identifiers: Sequence[IdentifierQuery], limit: int) -> Normalised:
    if not identifiers:
        raise InvalidInput("give at least one identifier to check", fields={"identifiers": "empty"})
    if len(identifiers) > limit:
        extra = identifiers[limit]
        raise InvalidInput(
            f"at most {limit} identifiers per request, this one has {len(identifiers)}: "
            f"identifier {limit} ({extra.kind} {_shown(extra.value)}) is the first beyond "
            "the limit; split the list and send the rest in another request",
            fields={f"identifiers[{limit}]": "beyond the limit"},
        )
    try:
        return normalise_batch(identifiers)
    except IdentifierRefused as refused:
        raise InvalidInput(
            f"identifier {refused.index} ({refused.kind} {_shown(refused.value)}): "
            f"{refused.reason}; nothing was checked, correct it and send the list again",
            fields={f"identifiers[{refused.index}]": refused.reason},
        ) from None


def _shown(value: str) -> str:
    """A value quoted for a problem's sentence, cut short when long."""
    return repr(value if len(value) <= 80 else value[:80] + "…")


def _listed(kind: Any, value: str, matches: tuple[Match, ...], loaded: _Loaded) -> CheckResult:
    return CheckResult(
        kind,
        value,
        True,
        tier=most_severe(matches).value,
        listings=tuple(map(loaded.report, matches)),
    )


def answer_bytes(answer: BlacklistCheck) -> bytes:
    """The answer's RFC 8785 form.

    Every string of an answer is printable ASCII without quote or backslash (identifiers
    are refused otherwise; references, tiers and times are made so) and every number an
    integer, and for such a document RFC 8785 is JSON with members sorted and no
    whitespace: msgspec writes it in a fraction of the time. Should a string ever fall
    outside that set (the encoder would escape it or write UTF-8), the general
    canonicaliser writes it instead.
    """
    encoded = msgspec.json.encode(answer, order="sorted")
    if encoded.isascii() and b"\\" not in encoded:
        return encoded
    return canonicalize(msgspec.to_builtins(answer))


def verify_answer(envelope_json: bytes, public_key: PublicKey) -> dict[str, Any]:
    """Check a signed answer against the federation's public key and return the answer
    it signs; InvalidSignature says what failed."""
    try:
        envelope = Envelope.from_json(envelope_json)
    except AttestationError as exc:
        raise InvalidSignature(f"not a DSSE envelope: {exc.reason}") from exc
    if envelope.payload_type != CHECK_PAYLOAD_TYPE:
        raise InvalidSignature(
            f"payloadType is {envelope.payload_type!r}, not {CHECK_PAYLOAD_TYPE!r}"
        )
    try:
        verify_envelope(envelope, {public_key.key_id: public_key})
        answer = parse_json(envelope.payload)
    except AttestationError as exc:
        raise InvalidSignature(exc.reason) from exc
    if not isinstance(answer, dict) or answer.get("_type") != CHECK_TYPE:
        raise InvalidSignature("the signed payload is not a blacklist check answer")
    return answer


__all__ = [
    "CHECK_PAYLOAD_TYPE",
    "CHECK_ROLES",
    "CHECK_TYPE",
    "BlacklistCheck",
    "BlacklistCheckService",
    "CheckListing",
    "CheckResult",
    "CheckedIdentifier",
    "answer_bytes",
    "verify_answer",
]
