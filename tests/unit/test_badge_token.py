"""Signed badge tokens: what verifies, and every way a token is refused."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from attestations.badge_token import (
    PAYLOAD_TYPE,
    BadgeClaims,
    decode_badge_claims,
    sign_badge_token,
    verify_badge_token,
)
from attestations.canonical import canonicalize
from attestations.envelope import pae
from attestations.errors import TokenError
from attestations.keys import SigningKey

KEY = SigningKey(bytes(range(32)))
NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def claims(**changes: object) -> BadgeClaims:
    """Claims of a certified L2 vendor, issued now, valid for a day."""
    base = BadgeClaims(
        issuer="test.trust-registry.example/log",
        key_id=KEY.key_id,
        vendor="yunzhan-cloud",
        state="active",
        level=2,
        valid_until=NOW + timedelta(days=200),
        log_index=17,
        issued_at=NOW,
        expires=NOW + timedelta(hours=24),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(document: dict[str, object], key: SigningKey = KEY) -> str:
    """A token over any JSON document, correctly signed, to test the claim checks."""
    payload = canonicalize(document)
    return f"trbt1.{b64url(payload)}.{b64url(key.sign(pae(PAYLOAD_TYPE, payload)))}"


def test_round_trip() -> None:
    """A freshly signed token verifies and gives back its claims."""
    token = sign_badge_token(claims(), KEY)
    verified = verify_badge_token(token, KEY.public_key, NOW + timedelta(hours=1))
    assert verified == claims()
    assert verified.certified
    assert token.startswith("trbt1.")


@given(
    state=st.sampled_from(["active", "renewal_due", "suspended", "revoked", "expired", None]),
    level=st.sampled_from([1, 2, 3, None]),
    log_index=st.one_of(st.none(), st.integers(0, 2**53 - 1)),
)
def test_round_trip_any_state(state: str | None, level: int | None, log_index: int | None) -> None:
    """Every state and level survives signing; `certified` follows state and level only."""
    original = claims(state=state, level=level, log_index=log_index)
    verified = verify_badge_token(sign_badge_token(original, KEY), KEY.public_key, NOW)
    assert verified == original
    assert verified.certified == (state in {"active", "renewal_due"} and level is not None)


def test_wrong_key_is_refused() -> None:
    """Another key's public half does not verify the token."""
    token = sign_badge_token(claims(), KEY)
    with pytest.raises(TokenError, match="signature does not verify"):
        verify_badge_token(token, SigningKey.generate().public_key, NOW)


def test_expired_token_is_refused() -> None:
    """At or after `expires` a token proves nothing."""
    token = sign_badge_token(claims(), KEY)
    with pytest.raises(TokenError, match="expired"):
        verify_badge_token(token, KEY.public_key, NOW + timedelta(hours=24))


def test_token_from_the_future_is_refused() -> None:
    """A token issued beyond the clock skew is refused."""
    token = sign_badge_token(claims(), KEY)
    with pytest.raises(TokenError, match="future"):
        verify_badge_token(token, KEY.public_key, NOW - timedelta(hours=1))


@pytest.mark.parametrize(
    ("mutation", "reason"),
    [
        (lambda t: t.replace("trbt1.", "trbt2.", 1), "has the form"),
        (lambda t: t + ".extra", "has the form"),
        (lambda t: t.rsplit(".", 1)[0] + ".AAAA", "signature does not verify"),
        (lambda t: t.replace(".", ".x", 1), "signature does not verify|not in canonical"),
        (lambda t: t.rsplit(".", 1)[0] + ".%%%", "base64url"),
        (lambda t: "trbt1." + "A" * 5000, "at most"),
    ],
    ids=["wrong-prefix", "extra-part", "modified-sig", "modified-payload", "bad-alphabet", "huge"],
)
def test_malformed_tokens_are_refused(mutation: object, reason: str) -> None:
    """Tampering with any part is caught with a reason."""
    token = sign_badge_token(claims(), KEY)
    assert callable(mutation)
    with pytest.raises(TokenError, match=reason):
        verify_badge_token(mutation(token), KEY.public_key, NOW)


def test_certified_claim_must_agree_with_state() -> None:
    """A signed `certified: true` on a suspended state is refused, not trusted."""
    document = claims(state="suspended", level=None).to_dict()
    document["certified"] = True
    with pytest.raises(TokenError, match="contradicts"):
        verify_badge_token(forge(document), KEY.public_key, NOW)


def test_unknown_or_missing_claims_are_refused() -> None:
    """Exactly the v1 claims, no more, no fewer."""
    document = claims().to_dict()
    document["note"] = "trust me"
    with pytest.raises(TokenError, match="unexpected"):
        verify_badge_token(forge(document), KEY.public_key, NOW)
    del document["note"], document["level"]
    with pytest.raises(TokenError, match="missing"):
        verify_badge_token(forge(document), KEY.public_key, NOW)


def test_key_id_must_name_the_verifying_key() -> None:
    """A token signed by key B but naming key A is refused even with B's public key."""
    other = SigningKey.generate()
    document = claims().to_dict()
    with pytest.raises(TokenError, match="different key id"):
        verify_badge_token(forge(document, other), other.public_key, NOW)


def test_non_canonical_payload_is_refused() -> None:
    """The same claims in another byte form are not accepted (one token, one form)."""
    payload = json.dumps(claims().to_dict(), indent=1).encode()
    with pytest.raises(TokenError, match="canonical"):
        decode_badge_claims(payload)


def test_signing_checks_its_own_inputs() -> None:
    """The signer refuses claims naming another key or expiring before issue."""
    with pytest.raises(TokenError, match="different key"):
        sign_badge_token(claims(key_id="0" * 64), KEY)
    with pytest.raises(TokenError, match="expire after"):
        sign_badge_token(claims(expires=NOW), KEY)
