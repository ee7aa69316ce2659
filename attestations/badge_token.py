"""Signed badge tokens: a vendor's certification status that anyone can check offline.

A badge image can be copied; a token cannot be forged. The registry signs a short-lived
statement of a vendor's certification with the federation key, and anyone holding that
public key can check it without asking the registry.

Format (version 1)::

    token   = "trbt1." BASE64URL(payload) "." BASE64URL(signature)
    payload = RFC 8785 canonical JSON of the claims below
    signature = Ed25519(federation key, PAE(PAYLOAD_TYPE, payload))

BASE64URL is RFC 4648 section 5 without padding. PAE is the DSSE pre-authentication
encoding (the same one envelopes use), with PAYLOAD_TYPE
"application/vnd.trust-registry.badge-token+json", so a token signature can never be
replayed as an envelope signature or the other way round. Claims:

    typ          "trust-registry/badge-token/v1"
    iss          the federation's log origin (its signed-note key name)
    kid          key id of the signing key (hex SHA-256 of the raw public key)
    vendor       the vendor's slug
    state        certification state ("active", "renewal_due", "suspended", ...) or null
    certified    true only for an active or renewal-due certificate (fail closed)
    level        1, 2 or 3 while certified, else null
    valid_until  end of the certificate's validity (RFC 3339, UTC) or null
    log_index    transparency-log index of the latest state change, or null
    issued_at    when the registry signed the token
    expires      after this instant the token proves nothing

Verification: split on ".", decode, check the signature over PAE, check that the
payload is canonical JSON with exactly these claims, that `kid` names the key used,
and that `issued_at <= now + skew` and `now < expires`.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from attestations.canonical import canonicalize, parse_json
from attestations.envelope import pae
from attestations.errors import AttestationError, TokenError
from attestations.keys import PublicKey, SigningKey

TOKEN_PREFIX = "trbt1"  # noqa: S105 - a format tag, not a secret
PAYLOAD_TYPE = "application/vnd.trust-registry.badge-token+json"
TOKEN_TYPE = "trust-registry/badge-token/v1"  # noqa: S105 - a type name, not a secret
CERTIFYING_STATES = frozenset({"active", "renewal_due"})
DEFAULT_CLOCK_SKEW = timedelta(minutes=5)
MAX_TOKEN_LENGTH = 4096
_CLAIMS = frozenset(
    {
        "typ",
        "iss",
        "kid",
        "vendor",
        "state",
        "certified",
        "level",
        "valid_until",
        "log_index",
        "issued_at",
        "expires",
    }
)
_B64URL = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class BadgeClaims:
    """What a badge token states about one vendor at one moment."""

    issuer: str
    key_id: str
    vendor: str
    state: str | None
    level: int | None
    valid_until: datetime | None
    log_index: int | None
    issued_at: datetime
    expires: datetime

    @property
    def certified(self) -> bool:
        """Fail closed: only an active or renewal-due state with a level certifies."""
        return self.state in CERTIFYING_STATES and self.level is not None

    def to_dict(self) -> dict[str, Any]:
        """The claims as the JSON object that is signed."""
        return {
            "typ": TOKEN_TYPE,
            "iss": self.issuer,
            "kid": self.key_id,
            "vendor": self.vendor,
            "state": self.state,
            "certified": self.certified,
            "level": self.level,
            "valid_until": _format_time(self.valid_until) if self.valid_until else None,
            "log_index": self.log_index,
            "issued_at": _format_time(self.issued_at),
            "expires": _format_time(self.expires),
        }


def sign_badge_token(claims: BadgeClaims, key: SigningKey) -> str:
    """Encode and sign `claims`; `claims.key_id` must name `key`."""
    if claims.key_id != key.key_id:
        raise TokenError("the claims name a different key than the one signing them")
    if claims.expires <= claims.issued_at:
        raise TokenError("a token must expire after it is issued")
    payload = canonicalize(claims.to_dict())
    signature = key.sign(pae(PAYLOAD_TYPE, payload))
    return f"{TOKEN_PREFIX}.{_b64url(payload)}.{_b64url(signature)}"


def verify_badge_token(
    token: str,
    public_key: PublicKey,
    now: datetime,
    *,
    clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
) -> BadgeClaims:
    """Check a token's signature, form and lifetime; return its claims or raise TokenError."""
    payload, signature = _split(token)
    try:
        public_key.verify(pae(PAYLOAD_TYPE, payload), signature)
    except AttestationError as exc:
        raise TokenError(f"the token's signature does not verify: {exc.reason}") from exc
    claims = decode_badge_claims(payload)
    if claims.key_id != public_key.key_id:
        raise TokenError("the token names a different key id than the key it verified with")
    moment = _aware(now)
    if claims.issued_at > moment + clock_skew:
        raise TokenError(f"the token is issued in the future ({_format_time(claims.issued_at)})")
    if moment >= claims.expires:
        raise TokenError(f"the token expired at {_format_time(claims.expires)}")
    return claims


def decode_badge_claims(payload: bytes) -> BadgeClaims:
    """Parse the signed payload; it must be canonical JSON holding exactly the v1 claims."""
    try:
        document = parse_json(payload)
    except AttestationError as exc:
        raise TokenError(f"the token payload is not JSON: {exc.reason}") from exc
    if not isinstance(document, dict):
        raise TokenError("the token payload is not a JSON object")
    if set(document) != _CLAIMS:
        missing = sorted(_CLAIMS - set(document))
        extra = sorted(set(document) - _CLAIMS)
        raise TokenError(f"the token claims are wrong: missing {missing}, unexpected {extra}")
    if canonicalize(document) != payload:
        # One token, one byte form: no re-encoded variants of a signed payload.
        raise TokenError("the token payload is not in RFC 8785 canonical form")
    if document["typ"] != TOKEN_TYPE:
        raise TokenError(f"unknown token type {document['typ']!r}")
    claims = BadgeClaims(
        issuer=_string(document, "iss"),
        key_id=_string(document, "kid"),
        vendor=_string(document, "vendor"),
        state=_optional_string(document, "state"),
        level=_optional_int(document, "level"),
        valid_until=_optional_time(document, "valid_until"),
        log_index=_optional_int(document, "log_index"),
        issued_at=_time(document, "issued_at"),
        expires=_time(document, "expires"),
    )
    if document["certified"] is not claims.certified:
        raise TokenError("the token's `certified` claim contradicts its state and level")
    return claims


def _split(token: str) -> tuple[bytes, bytes]:
    text = token.strip()
    if len(text) > MAX_TOKEN_LENGTH:
        raise TokenError(f"a badge token is at most {MAX_TOKEN_LENGTH} characters")
    parts = text.split(".")
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        raise TokenError(f"a badge token has the form {TOKEN_PREFIX}.<payload>.<signature>")
    return _b64url_decode(parts[1], "payload"), _b64url_decode(parts[2], "signature")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str, what: str) -> bytes:
    if not _B64URL.fullmatch(text):
        raise TokenError(f"the token {what} is not unpadded base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise TokenError(f"the token {what} is not unpadded base64url") from exc
    if _b64url(data) != text:
        raise TokenError(f"the token {what} is not in canonical base64url form")
    return data


def _format_time(moment: datetime) -> str:
    return _aware(moment).isoformat().replace("+00:00", "Z")


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise TokenError("times must be timezone-aware")
    return moment.astimezone(UTC)


def _string(document: dict[str, Any], name: str) -> str:
    value = document[name]
    if not isinstance(value, str) or not value:
        raise TokenError(f"claim {name!r} must be a non-empty string")
    return value


def _optional_string(document: dict[str, Any], name: str) -> str | None:
    return None if document[name] is None else _string(document, name)


def _optional_int(document: dict[str, Any], name: str) -> int | None:
    value = document[name]
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TokenError(f"claim {name!r} must be a non-negative integer or null")
    return value


def _time(document: dict[str, Any], name: str) -> datetime:
    value = _string(document, name)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise TokenError(f"claim {name!r} is not an RFC 3339 time") from exc
    if moment.tzinfo is None or not value.endswith("Z"):
        raise TokenError(f"claim {name!r} must be a UTC time ending in Z")
    return moment.astimezone(UTC)


def _optional_time(document: dict[str, Any], name: str) -> datetime | None:
    return None if document[name] is None else _time(document, name)
