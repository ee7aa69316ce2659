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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol

from registry.blacklist.listings import severity
from registry.blacklist.states import SubjectKind, Tier
from registry.kernel.credit_code import normalise_credit_code
from registry.kernel.patterns import APP_ID_PATTERN, DOMAIN_PATTERN, SLUG_PATTERN
from registry.outbound import registrable_domain

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
    return domain if DOMAIN_PATTERN.match(domain) else None


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


def normalise_batch(queries: Sequence[IdentifierQuery]) -> list[tuple[SubjectKind, str]]:
    """Every identifier of a batch normalised, in order; IdentifierRefused names the
    first that is not one, and nothing is checked then."""
    normalised: list[tuple[SubjectKind, str]] = []
    append = normalised.append
    for index, query in enumerate(queries):
        try:
            append(_checked(query.kind, query.value))
        except ValueError as exc:
            raise IdentifierRefused(index, query.kind, query.value, str(exc)) from None
    return normalised


def _checked(kind_name: str, raw: str) -> tuple[SubjectKind, str]:
    kind = KINDS.get(kind_name)
    if kind is None:
        raise ValueError("kind must be one of " + ", ".join(sorted(KINDS)))
    if len(raw) > MAX_IDENTIFIER_CHARS:
        raise ValueError(f"longer than {MAX_IDENTIFIER_CHARS} characters")
    return kind, normalise(kind, raw)


@dataclass(frozen=True, slots=True)
class ListingInForce:
    """A listing as the check reports it: public facts of its record."""

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


@dataclass(frozen=True, slots=True)
class Match:
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
        listings: set[int] = set()
        for kind, value, listing in entries:
            grouped[kind].setdefault(value, []).append(Match(listing, kind, value))
            listings.add(listing.id)
        self._by_kind: dict[SubjectKind, dict[str, tuple[Match, ...]]] = {
            kind: {value: tuple(found) for value, found in values.items()}
            for kind, values in grouped.items()
        }
        self._domains = self._by_kind[SubjectKind.DOMAIN]
        self.listings = len(listings)
        """How many listings the index covers."""
        self.identifiers = sum(len(values) for values in self._by_kind.values())
        """How many distinct identifiers it holds."""

    def lookup(
        self, queries: Sequence[tuple[SubjectKind, str]], now: datetime
    ) -> list[tuple[Match, ...]]:
        """The listings in force at `now` that cover each normalised identifier, in order."""
        found: list[tuple[Match, ...]] = []
        append = found.append
        by_kind, domain = self._by_kind, SubjectKind.DOMAIN
        for kind, value in queries:
            matches = self._domain(value) if kind is domain else by_kind[kind].get(value, NO_MATCH)
            append(_in_force(matches, now) if matches else NO_MATCH)
        return found

    def _domain(self, domain: str) -> tuple[Match, ...]:
        """Listings of the domain itself, and of its parents up to its registrable domain."""
        domains = self._domains
        exact = domains.get(domain, NO_MATCH)
        parents: list[tuple[str, tuple[Match, ...]]] = []
        start = domain.find(".") + 1
        # A parent needs two labels: a top-level domain is never a listing's subject.
        for _ in range(domain.count(".") - 1):
            parent = domain[start:]
            listed = domains.get(parent)
            if listed:
                parents.append((parent, listed))
            start = domain.find(".", start) + 1
        if not parents:
            return exact
        # Only now, with a listed parent, is the Public Suffix List asked (it costs more
        # than every look-up above together).
        registrable = registrable_domain(domain)
        if registrable is None:
            return exact
        seen = {m.listing.id for m in exact}
        covering = list(exact)
        for parent, listed in parents:
            if len(parent) < len(registrable):
                continue
            for match in listed:
                # A vendor listed with both `example.com` and `shop.example.com` is one
                # listing: reported once, by the most specific identifier.
                if match.listing.id not in seen:
                    seen.add(match.listing.id)
                    covering.append(match)
        return tuple(covering)


def _in_force(matches: tuple[Match, ...], now: datetime) -> tuple[Match, ...]:
    if all(m.listing.in_force(now) for m in matches):
        return matches
    return tuple(m for m in matches if m.listing.in_force(now))


def most_severe(matches: Sequence[Match]) -> Tier:
    """The most severe tier among the matches (there is at least one)."""
    return max((m.listing.tier for m in matches), key=severity)
