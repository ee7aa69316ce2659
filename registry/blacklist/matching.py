"""What the bulk check matches, as pure functions: identifiers normalised one way for
queries and for listings, and the in-memory index of the identifiers in force.

An identifier is a kind and a value (`SubjectKind`): a member vendor's slug, a domain, an
app id or a unified social credit code. A listing is known by its subject and, for a
member vendor, by the vendor's slug, credit code and proven domains
(`registry.blacklist.identifiers` writes them). A domain also matches the listings of its
parent domains (a listing of `example.com` covers `shop.example.com`), but never above
the name a registrant holds: matching stops at the registrable domain of the Public
Suffix List, so a listing of `com.cn` or `github.io` matches only itself and one vendor's
listing never spills onto its neighbours under a shared suffix.

The index is built once per generation of the identifier table and shared by every
request of a worker (`registry.blacklist.check`); a look-up is a dictionary read per
identifier and per parent domain, so a batch of 10,000 costs milliseconds.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from itertools import compress, count, repeat
from operator import is_
from typing import Final, NamedTuple, Protocol

import msgspec

from registry.blacklist.listings import severity
from registry.blacklist.states import SubjectKind, Tier
from registry.kernel.credit_code import is_canonical, normalise_credit_code
from registry.kernel.patterns import APP_ID_PATTERN, DOMAIN_PATTERN, SLUG_PATTERN
from registry.outbound import registrable_domain, subdomains_share_registrable

MAX_IDENTIFIER_CHARS: Final = 300
"""Longer than any identifier of any kind (a domain has at most 253 characters)."""
KINDS: Final = {kind.value: kind for kind in SubjectKind}
"""The kinds a query may name, by their wire name."""
NOT_A_DOMAIN: Final = (
    "not a domain name like shop.example.cn: letters, digits and hyphens in two or more "
    "labels separated by dots, without a scheme, port or path"
)


class IdentifierRefused(ValueError):
    """Why one identifier of a batch cannot be checked; `index` is its place (from 0)."""

    def __init__(self, index: int, kind: str, value: str, reason: str) -> None:
        super().__init__(reason)
        self.index = index
        self.kind = kind
        self.value = value
        self.reason = reason


class IdentifierQuery(Protocol):
    """One identifier as a request names it."""

    @property
    def kind(self) -> str:
        """`vendor`, `domain`, `app_id` or `credit_code`."""
        ...

    @property
    def value(self) -> str:
        """The slug, domain, app id or credit code, as typed."""
        ...


def normalise_domain(raw: str) -> str | None:
    """A domain as listings hold it (lower case, no trailing dot, an internationalised
    name in its `xn--` form), or None when it is no domain name."""
    domain = raw.strip().rstrip(".").lower()
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    return domain if DOMAIN_PATTERN.fullmatch(domain) else None


def normalise(kind: SubjectKind, raw: str) -> str:
    """The value of an identifier of `kind` as the index holds it; ValueError says why
    it is not one."""
    if kind is SubjectKind.CREDIT_CODE:
        return normalise_credit_code(raw)
    if kind is SubjectKind.DOMAIN:
        domain = normalise_domain(raw)
        if domain is None:
            raise ValueError(NOT_A_DOMAIN)
        return domain
    if kind is SubjectKind.APP_ID:
        app_id = raw.strip()
        if APP_ID_PATTERN.fullmatch(app_id) is None:
            raise ValueError(
                "not an app id like com.example.shop: 2 to 200 letters, digits, dots, "
                "colons, underscores and hyphens"
            )
        return app_id
    slug = raw.strip().lower()
    if SLUG_PATTERN.fullmatch(slug) is None:
        raise ValueError(
            "not a vendor slug like acme-cloud: lower-case letters, digits and inner "
            "hyphens, at most 64"
        )
    return slug


class Normalised(NamedTuple):
    """A batch's identifiers, normalised, in order: kinds and values side by side (two
    lists, not ten thousand pairs: fewer objects for the garbage collector to follow)."""

    kinds: list[SubjectKind]
    values: list[str]


AS_HELD: Final[tuple[tuple[SubjectKind, Callable[[str], object]], ...]] = (
    (SubjectKind.DOMAIN, DOMAIN_PATTERN.fullmatch),
    (SubjectKind.VENDOR, SLUG_PATTERN.fullmatch),
    (SubjectKind.APP_ID, APP_ID_PATTERN.fullmatch),
    (SubjectKind.CREDIT_CODE, is_canonical),
)
"""Whether a value is already written as listings hold it, per kind (the patterns bound
the length too)."""


def normalise_batch(queries: Sequence[IdentifierQuery]) -> Normalised:
    """Every identifier of a batch normalised, in order; IdentifierRefused names the
    first that is not one, and nothing is checked then."""
    return _as_held(queries) or _normalise_each(queries)


def _as_held(queries: Sequence[IdentifierQuery]) -> Normalised | None:
    """The batch as it is, when every identifier is already written as listings hold it
    (what a member's tooling sends), else None.

    The test runs kind by kind in C-level passes (`map`, `compress`) rather than one
    Python step per identifier: at ten thousand identifiers a request, those steps were
    a third of the check. Anything else (an unknown kind, upper case, spaces, a bad
    value) goes to `_normalise_each`, which normalises it or names it."""
    values = [query.value for query in queries]
    try:
        kinds = list(map(KINDS.__getitem__, [query.kind for query in queries]))
    except (KeyError, TypeError):
        return None
    for kind, held in AS_HELD:
        if not all(map(held, compress(values, map(is_, kinds, repeat(kind))))):
            return None
    return Normalised(kinds, values)


def _normalise_each(queries: Sequence[IdentifierQuery]) -> Normalised:
    """The batch normalised one identifier at a time, stopping at the first refused."""
    kinds: list[SubjectKind] = []
    values: list[str] = []
    add_kind, add_value = kinds.append, values.append
    known = KINDS
    as_held = dict(AS_HELD)
    del as_held[SubjectKind.CREDIT_CODE]  # normalised below at the same cost
    for index, query in enumerate(queries):
        raw = query.value
        kind = known.get(query.kind)
        if kind is None:
            reason = "kind must be one of " + ", ".join(sorted(known))
            raise IdentifierRefused(index, query.kind, raw, reason)
        held = as_held.get(kind)
        if held is not None and held(raw):
            add_value(raw)
        else:
            if len(raw) > MAX_IDENTIFIER_CHARS:
                reason = f"longer than {MAX_IDENTIFIER_CHARS} characters"
                raise IdentifierRefused(index, query.kind, raw, reason)
            try:
                add_value(normalise(kind, raw))
            except ValueError as exc:
                raise IdentifierRefused(index, query.kind, raw, str(exc)) from None
        add_kind(kind)
    return Normalised(kinds, values)


class ListingInForce(msgspec.Struct, frozen=True, gc=False):
    """A listing as the check reports it: public facts of its record.

    Not tracked by the garbage collector (`gc=False`), nor are the matches: a worker
    holds hundreds of thousands for as long as the index lives, and a full collection
    would walk every one of them again and again."""

    id: int
    case: str
    """The case reference (`BL-2026-000042`)."""
    tier: Tier
    published_from: datetime
    published_until: datetime
    subject_kind: SubjectKind
    subject_value: str

    def in_force(self, now: datetime) -> bool:
        """Published at `now`: a listing past its end is not listed, even before the
        scheduled job records its expiry."""
        return self.published_from <= now < self.published_until


class Match(msgspec.Struct, frozen=True, gc=False):
    """A listing that covers a checked identifier, and the listing's identifier that
    matched (the parent domain, or the vendor's credit code...)."""

    listing: ListingInForce
    kind: SubjectKind
    value: str


NO_MATCH: Final[tuple[Match, ...]] = ()


class ListingIndex:
    """The identifiers of the listings in force of one generation, by kind and value."""

    def __init__(
        self, generation: int, entries: Iterable[tuple[SubjectKind, str, ListingInForce]]
    ) -> None:
        self.generation = generation
        grouped: dict[SubjectKind, dict[str, list[Match]]] = {kind: {} for kind in SubjectKind}
        listings: dict[int, ListingInForce] = {}
        for kind, value, listing in entries:
            grouped[kind].setdefault(value, []).append(Match(listing, kind, value))
            listings[listing.id] = listing
        self._by_kind: dict[SubjectKind, dict[str, tuple[Match, ...]]] = {
            kind: {value: tuple(found) for value, found in values.items()}
            for kind, values in grouped.items()
        }
        self._domains = self._by_kind[SubjectKind.DOMAIN]
        self._covers: dict[str, _Coverage] = {}
        """How far each listed domain that was a parent reaches (the list never changes,
        so once per domain and index)."""
        # A listed domain can match a name only if it ends in the same last two labels
        # (a listed domain of two labels) or the same last three (a longer one): two set
        # reads rule out most names before any parent is looked up.
        self._tails2 = {d for d in self._domains if d.count(".") == 1}
        self._tails3 = {_tail3(d) for d in self._domains if d.count(".") > 1}
        self.listings = len(listings)
        """How many listings the index covers."""
        self._all_in_force = (
            max((listing.published_from for listing in listings.values()), default=None),
            min((listing.published_until for listing in listings.values()), default=None),
        )
        """From when until when every listing of the index is published: until the first
        end, which the scheduled job then records in a new generation, a look-up need not
        check each listing it finds."""
        self.identifiers = sum(len(values) for values in self._by_kind.values())
        """How many distinct identifiers it holds."""

    def lookup(self, batch: Normalised, now: datetime) -> list[tuple[Match, ...]]:
        """The listings in force at `now` that cover each identifier, in order.

        Every identifier is first read as it is from its kind's dictionary, in one C-level
        pass; then only the domains look for listed parents, and only the identifiers
        found are checked against `now`."""
        kinds, values = batch
        found = list(map(dict.get, map(self._by_kind.__getitem__, kinds), values, repeat(NO_MATCH)))
        tails2, tails3 = self._tails2, self._tails3
        for position in compress(count(), map(is_, kinds, repeat(SubjectKind.DOMAIN))):
            value = values[position]
            # A listed name or parent ends in listed tails (`_tail2`, `_tail3`, inline):
            # most names stop here, with their exact look-up (none) already made.
            last = value.rfind(".")
            second = value.rfind(".", 0, last)
            if value[second + 1 :] in tails2 or (
                second >= 0 and value[value.rfind(".", 0, second) + 1 :] in tails3
            ):
                found[position] = self._with_parents(value)
        latest_start, first_end = self._all_in_force
        if latest_start is not None and first_end is not None and latest_start <= now < first_end:
            return found
        for position in list(compress(count(), found)):
            found[position] = _in_force(found[position], now)
        return found

    def _with_parents(self, domain: str) -> tuple[Match, ...]:
        """Listings of the domain itself, and of its parents up to its registrable domain."""
        dots = domain.count(".")
        domains = self._domains
        exact = domains.get(domain, NO_MATCH)
        parents: list[tuple[str, tuple[Match, ...]]] = []
        start = domain.find(".") + 1
        # A parent needs two labels: a top-level domain is never a listing's subject.
        for _ in range(dots - 1):
            parent = domain[start:]
            listed = domains.get(parent)
            if listed:
                parents.append((parent, listed))
            start = domain.find(".", start) + 1
        if not parents:
            return exact
        seen = {m.listing.id for m in exact}
        covering = list(exact)
        registrable: str | None = None
        for parent, listed in parents:
            covers = self._covers.get(parent)
            if covers is None:
                covers = self._covers[parent] = _coverage(parent)
            if covers is _Coverage.NEVER:
                continue
            if covers is _Coverage.ASK:
                # The list has rules below this parent (`s3.amazonaws.com` under
                # `amazonaws.com`): the name's own registrable domain decides.
                registrable = registrable or registrable_domain(domain) or domain
                if len(parent) < len(registrable):
                    continue
            for match in listed:
                # A vendor listed with both `example.com` and `shop.example.com` is one
                # listing: reported once, by the most specific identifier.
                if match.listing.id not in seen:
                    seen.add(match.listing.id)
                    covering.append(match)
        return tuple(covering)


class _Coverage(enum.Enum):
    """Whether a listed domain covers the names under it."""

    ALL = "all"
    """Registrable (or below), no rule of the Public Suffix List under it: every name."""
    NEVER = "never"
    """A public suffix (or under an unknown top-level domain): only itself."""
    ASK = "ask"
    """Rules under it: names whose registrable domain is at or below it."""


def _coverage(domain: str) -> _Coverage:
    if subdomains_share_registrable(domain):
        return _Coverage.ALL
    if registrable_domain(domain) is None:
        return _Coverage.NEVER
    return _Coverage.ASK


def _tail2(domain: str) -> str:
    """The last two labels (`example.cn` of `shop.example.cn`)."""
    return domain[domain.rfind(".", 0, domain.rfind(".")) + 1 :]


def _tail3(domain: str) -> str:
    """The last three labels, or the whole name when it has fewer."""
    last = domain.rfind(".", 0, domain.rfind("."))
    return domain[domain.rfind(".", 0, last) + 1 :]


def _in_force(matches: tuple[Match, ...], now: datetime) -> tuple[Match, ...]:
    if all(m.listing.in_force(now) for m in matches):
        return matches
    return tuple(m for m in matches if m.listing.in_force(now))


def most_severe(matches: Sequence[Match]) -> Tier:
    """The most severe tier among the matches (there is at least one)."""
    if len(matches) == 1:
        return matches[0].listing.tier
    return max((m.listing.tier for m in matches), key=severity)
