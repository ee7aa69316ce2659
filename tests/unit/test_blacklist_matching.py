"""The bulk check's matching, pure: normalisation, parent domains up to the registrable
domain, listings in force by their dates, and the answer's RFC 8785 bytes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from attestations.canonical import canonicalize
from registry.blacklist.check import (
    CHECK_TYPE,
    BlacklistCheck,
    CheckedIdentifier,
    CheckListing,
    CheckResult,
    answer_bytes,
)
from registry.blacklist.matching import (
    IdentifierRefused,
    ListingIndex,
    ListingInForce,
    Normalised,
    _as_held,
    _normalise_each,
    normalise,
    normalise_batch,
)
from registry.blacklist.states import SubjectKind, Tier
from tests.factories import new_credit_code

NOW = datetime(2026, 12, 1, tzinfo=UTC)
D, V, A, C = SubjectKind.DOMAIN, SubjectKind.VENDOR, SubjectKind.APP_ID, SubjectKind.CREDIT_CODE


@dataclass(frozen=True)
class Query:
    kind: str
    value: str


def _listing(number: int, kind: SubjectKind, value: str, **dates: datetime) -> ListingInForce:
    return ListingInForce(
        id=number,
        case=f"BL-2026-{number:06d}",
        tier=Tier.GENERAL,
        published_from=dates.get("since", NOW - timedelta(days=1)),
        published_until=dates.get("until", NOW + timedelta(days=90)),
        subject_kind=kind,
        subject_value=value,
    )


def _found(index: ListingIndex, kind: SubjectKind, value: str) -> list[tuple[int, str]]:
    (matches,) = index.lookup(Normalised([kind], [value]), NOW)
    return [(m.listing.id, m.value) for m in matches]


def test_identifiers_are_normalised_as_listings_hold_them() -> None:
    code = new_credit_code()
    assert normalise(C, f" {code.lower()} ") == code
    assert normalise(D, "Shop.Example.CN.") == "shop.example.cn"
    assert normalise(D, "例子.中国") == "xn--fsqu00a.xn--fiqs8s"
    assert normalise(V, "Acme-Cloud") == "acme-cloud"
    assert normalise(A, " com.Example.App ") == "com.Example.App"
    for kind, bad in [
        (D, "https://shop.example.cn"),
        (D, "localhost"),
        (D, "shop..example.cn"),
        (A, "x"),
        (A, "com.example app"),
        (V, "-acme"),
        (C, code[:17] + ("0" if code[17] != "0" else "1")),
    ]:
        with pytest.raises(ValueError, match=r"^(not a|check character)"):
            normalise(kind, bad)


def test_a_batch_names_its_first_bad_identifier() -> None:
    good = Query("domain", "shop.example.cn")
    with pytest.raises(IdentifierRefused) as refused:
        normalise_batch([good, Query("fax", "1"), Query("domain", "-")])
    assert (refused.value.index, refused.value.kind, refused.value.value) == (1, "fax", "1")
    with pytest.raises(IdentifierRefused, match="longer than 300") as long:
        normalise_batch([good, good, Query("app_id", "a" * 301)])
    assert long.value.index == 2
    assert normalise_batch([good, Query("vendor", "Acme")]) == Normalised(
        [D, V], ["shop.example.cn", "acme"]
    )


def test_a_batch_written_as_held_is_read_as_normalising_each_would() -> None:
    """The C-level pass for a batch already written as listings hold it gives what
    normalising one identifier at a time gives, and leaves anything else to that."""
    code = new_credit_code()
    held = [
        Query("credit_code", code),
        Query("domain", "shop.example.cn"),
        Query("app_id", "com.Example.App"),
        Query("vendor", "acme-cloud"),
    ]
    expected = Normalised([C, D, A, V], [code, "shop.example.cn", "com.Example.App", "acme-cloud"])
    assert _as_held(held) == _normalise_each(held) == normalise_batch(held) == expected
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    for query in [
        Query("credit_code", code.lower()),
        Query("credit_code", f" {code}"),
        Query("credit_code", wrong),
        Query("domain", "Shop.example.cn"),
        Query("vendor", "acme\n"),
        Query("fax", "1"),
    ]:
        assert _as_held([*held, query]) is None
    assert normalise_batch([*held, Query("credit_code", code.lower())]).values[4] == code
    with pytest.raises(IdentifierRefused, match="check character") as refused:
        normalise_batch([*held, Query("credit_code", wrong)])
    assert refused.value.index == 4


def test_parent_domains_match_up_to_the_registrable_domain_only() -> None:
    index = ListingIndex(
        1,
        [
            (D, "example.com.cn", _listing(1, D, "example.com.cn")),
            (D, "com.cn", _listing(2, D, "com.cn")),
            (D, "github.io", _listing(3, D, "github.io")),
            (D, "shop.example.com", _listing(4, D, "shop.example.com")),
            # One vendor listed with a domain and its subdomain: reported once.
            (D, "acme.cn", _listing(5, V, "acme")),
            (D, "www.acme.cn", _listing(5, V, "acme")),
            # The list has rules under these: each name's own registrable domain decides.
            (D, "amazonaws.com", _listing(6, D, "amazonaws.com")),
            (D, "city.kawasaki.jp", _listing(7, D, "city.kawasaki.jp")),
        ],
    )
    assert _found(index, D, "example.com.cn") == [(1, "example.com.cn")]
    assert _found(index, D, "a.b.example.com.cn") == [(1, "example.com.cn")]
    assert _found(index, D, "other.com.cn") == []  # never across the public suffix
    assert _found(index, D, "com.cn") == [(2, "com.cn")]  # a listed suffix matches itself
    assert _found(index, D, "me.github.io") == []
    assert _found(index, D, "example.com") == []  # a child listing does not cover its parent
    assert _found(index, D, "cart.shop.example.com") == [(4, "shop.example.com")]
    assert _found(index, D, "a.www.acme.cn") == [(5, "www.acme.cn")]
    assert _found(index, D, "example.internal") == []
    assert _found(index, D, "console.amazonaws.com") == [(6, "amazonaws.com")]
    assert _found(index, D, "bucket.s3.amazonaws.com") == []  # s3.amazonaws.com is public
    assert _found(index, D, "www.city.kawasaki.jp") == [(7, "city.kawasaki.jp")]


def test_only_listings_in_force_at_the_instant_match() -> None:
    index = ListingIndex(
        1,
        [
            (C, "CODE", _listing(1, C, "CODE", until=NOW)),
            (A, "com.a", _listing(2, A, "com.a", since=NOW + timedelta(seconds=1))),
            (A, "com.b", _listing(3, A, "com.b")),
            (A, "com.b", _listing(4, A, "com.b", until=NOW - timedelta(days=1))),
        ],
    )
    assert _found(index, C, "CODE") == []  # published_until is exclusive
    assert _found(index, A, "com.a") == []
    assert _found(index, A, "com.b") == [(3, "com.b")]
    assert index.listings == 4


def test_a_listing_past_its_end_stops_matching_before_the_index_changes() -> None:
    """Until the first end every listing of the index is in force and the look-up skips
    the dates; from then on it checks them, with no new generation needed."""
    index = ListingIndex(
        1,
        [
            (A, "com.a", _listing(1, A, "com.a", until=NOW + timedelta(days=1))),
            (A, "com.b", _listing(2, A, "com.b")),
        ],
    )
    batch = Normalised([A, A], ["com.a", "com.b"])
    assert [len(m) for m in index.lookup(batch, NOW)] == [1, 1]
    assert [len(m) for m in index.lookup(batch, NOW + timedelta(days=1))] == [0, 1]


def test_the_answer_bytes_are_rfc8785() -> None:
    """`answer_bytes` writes what the general canonicaliser writes, for every field."""
    listing = CheckListing(
        listing=7,
        case="BL-2026-000007",
        tier="general",
        published_until="2027-06-01T00:00:00Z",
        subject=CheckedIdentifier("vendor", "acme"),
        matched=CheckedIdentifier("domain", "acme.example.cn"),
    )
    answer = BlacklistCheck(
        type=CHECK_TYPE,
        serial=3,
        snapshot_digest="ab" * 32,
        checked_at="2026-12-01T00:00:00Z",
        checked=3,
        listed=1,
        results=[
            CheckResult("domain", "shop.acme.example.cn", True, "general", (listing,)),
            CheckResult("app_id", "com.x:y_z", False),
            CheckResult("app_id", 'quote"d', False),  # escaped: the general path writes it
        ],
    )
    assert answer_bytes(answer) == canonicalize(msgspec.to_builtins(answer))
    assert b'"_type":' in answer_bytes(answer)
