"""DSSE v1 envelopes: PAE, structure, verification, and interop with an independent stack.

The independent stack is pyca/cryptography's Ed25519 plus a literal transcription of the
DSSE reference implementation (secure-systems-lab/dsse, implementation/signing_spec.py).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from attestations.canonical import canonicalize
from attestations.envelope import (
    PAYLOAD_TYPE_INTOTO,
    Envelope,
    EnvelopeSignature,
    pae,
    sign_envelope,
    verify_envelope,
)
from attestations.errors import EnvelopeError, SignatureError
from attestations.keys import PublicKey, SigningKey

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "dsse"
RFC8032_TEST1_SEED = bytes.fromhex(
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
)
HELLO_TYPE = "http://example.com/HelloWorld"
STATEMENT_PAYLOAD = (
    b'{"_type":"https://in-toto.io/Statement/v1","predicate":{"period":"2025-Q1"},'
    b'"predicateType":"https://trust-registry.example/attestation/v1",'
    b'"subject":[{"digest":{"sha256":"'
    + hashlib.sha256(b"vendor").hexdigest().encode()
    + b'"},"name":"vendor"}]}'
)


# --- Transcription of the DSSE reference implementation (signing_spec.py) ---------------
# Kept as close to the original as the linters allow, so it stays an independent check.
# Note the original's LEN(type) counts code points, not bytes: it agrees with the spec
# only for ASCII payload types, which is all the interop tests use.


def b64enc(m: bytes) -> str:
    """signing_spec.b64enc."""
    return base64.standard_b64encode(m).decode("utf-8")


def b64dec(m: str) -> bytes:
    """signing_spec.b64dec: standard base64, else URL-safe."""
    data = m.encode("utf-8")
    try:
        return base64.b64decode(data, validate=True)
    except binascii.Error:
        return base64.b64decode(data, altchars=b"-_", validate=True)


def PAE(payloadType: str, payload: bytes) -> bytes:  # noqa: N802, N803
    """signing_spec.PAE."""
    return b"DSSEv1 %d %b %d %b" % (
        len(payloadType),
        payloadType.encode("utf-8"),
        len(payload),
        payload,
    )


def Sign(payloadType: str, payload: bytes, signer: CryptographySigner) -> str:  # noqa: N802, N803
    """signing_spec.Sign."""
    signature = {
        "keyid": signer.keyid(),
        "sig": b64enc(signer.sign(PAE(payloadType, payload))),
    }
    if not signature["keyid"]:
        del signature["keyid"]
    return json.dumps(
        {
            "payload": b64enc(payload),
            "payloadType": payloadType,
            "signatures": [signature],
        }
    )


@dataclasses.dataclass
class VerifiedPayload:
    """signing_spec.VerifiedPayload."""

    payloadType: str  # noqa: N815
    payload: bytes
    recognizedSigners: list[str]  # noqa: N815


def Verify(  # noqa: N802
    json_signature: str, verifiers: Iterable[tuple[str, CryptographyVerifier]]
) -> VerifiedPayload:
    """signing_spec.Verify."""
    wrapper = json.loads(json_signature)
    payloadType = wrapper["payloadType"]  # noqa: N806
    payload = b64dec(wrapper["payload"])
    pae = PAE(payloadType, payload)
    recognizedSigners = []  # noqa: N806
    for signature in wrapper["signatures"]:
        for name, verifier in verifiers:
            if (
                signature.get("keyid") is not None
                and verifier.keyid() is not None
                and signature.get("keyid") != verifier.keyid()
            ):
                continue
            if verifier.verify(pae, b64dec(signature["sig"])):
                recognizedSigners.append(name)
    if not recognizedSigners:
        raise ValueError("No valid signature found")
    return VerifiedPayload(payloadType, payload, recognizedSigners)


# --- pyca/cryptography Ed25519 as the reference implementation's Signer and Verifier -----


class CryptographySigner:
    """signing_spec.Signer backed by pyca/cryptography; keyid per the registry rule."""

    def __init__(self, seed: bytes) -> None:
        self._key = Ed25519PrivateKey.from_private_bytes(seed)

    def public_bytes(self) -> bytes:
        """The raw 32-byte public key."""
        return self._key.public_key().public_bytes_raw()

    def sign(self, message: bytes) -> bytes:
        """Ed25519 signature over `message`."""
        return self._key.sign(message)

    def keyid(self) -> str:
        """Hex SHA-256 of the raw public key, computed without attestations.keys."""
        return hashlib.sha256(self.public_bytes()).hexdigest()


class CryptographyVerifier:
    """signing_spec.Verifier backed by pyca/cryptography."""

    def __init__(self, public: bytes) -> None:
        self._public = public
        self._key = Ed25519PublicKey.from_public_bytes(public)

    def verify(self, message: bytes, signature: bytes) -> bool:
        """True when `signature` verifies over `message`."""
        try:
            self._key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def keyid(self) -> str:
        """Hex SHA-256 of the raw public key."""
        return hashlib.sha256(self._public).hexdigest()


# --- helpers -------------------------------------------------------------------------------


def _key(n: int) -> SigningKey:
    """A deterministic test key; n picks the seed."""
    return SigningKey(bytes([n]) * 32)


def _trust(*keys: SigningKey) -> dict[str, PublicKey]:
    """The trusted-key map the registry would pass for these keys."""
    return {key.key_id: key.public_key for key in keys}


def _reason(excinfo: pytest.ExceptionInfo[EnvelopeError]) -> str:
    """The human diagnostic of a caught EnvelopeError."""
    return excinfo.value.reason


# --- PAE (protocol.md, PAE and Test Vectors) ------------------------------------------------


def test_pae_matches_the_spec_example() -> None:
    """protocol.md's test vector, byte for byte."""
    assert (
        pae(HELLO_TYPE, b"hello world") == b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


def test_pae_matches_the_reference_implementation_for_ascii_types() -> None:
    """Same bytes as signing_spec.PAE, including empty and binary bodies."""
    for payload_type, payload in [
        (PAYLOAD_TYPE_INTOTO, STATEMENT_PAYLOAD),
        ("t", b""),
        ("t", bytes(range(256))),
    ]:
        assert pae(payload_type, payload) == PAE(payload_type, payload)


def test_pae_counts_bytes_not_characters() -> None:
    """LEN is the byte length of UTF8(type), so "é" counts 2."""
    assert pae("é", b"x") == b"DSSEv1 2 \xc3\xa9 1 x"


# --- structure --------------------------------------------------------------------------


def test_round_trip_through_json_is_exact() -> None:
    """from_json(to_json()) gives back an equal envelope and identical bytes."""
    envelope = sign_envelope(STATEMENT_PAYLOAD, [_key(1), _key(2)])
    again = Envelope.from_json(envelope.to_json())
    assert again == envelope
    assert again.to_json() == envelope.to_json()


def test_to_dict_has_exactly_the_dsse_shape() -> None:
    """envelope.md's JSON envelope: payload, payloadType, signatures[{keyid, sig}]."""
    key = _key(1)
    envelope = sign_envelope(b"hello world", [key], HELLO_TYPE)
    assert envelope.to_dict() == {
        "payload": "aGVsbG8gd29ybGQ=",
        "payloadType": HELLO_TYPE,
        "signatures": [{"keyid": key.key_id, "sig": b64enc(envelope.signatures[0].sig)}],
    }


def test_to_json_is_canonical() -> None:
    """Sorted members, no whitespace: RFC 8785."""
    envelope = sign_envelope(b"x", [_key(1)], "t")
    text = envelope.to_json().decode()
    assert text.startswith('{"payload":"eA==","payloadType":"t","signatures":[{"keyid":"')
    assert " " not in text


@settings(max_examples=300, deadline=None)
@given(
    payload=st.binary(min_size=1, max_size=64),
    payload_type=st.text(min_size=1, max_size=24),
    keyids=st.lists(st.text(min_size=1, max_size=16), min_size=1, max_size=3, unique=True),
)
def test_to_json_equals_rfc8785_of_to_dict(
    payload: bytes, payload_type: str, keyids: list[str]
) -> None:
    """The direct serialisation and the rfc8785 package agree on any strings."""
    envelope = Envelope(
        payload_type=payload_type,
        payload=payload,
        signatures=tuple(EnvelopeSignature(k, bytes([n]) * 64) for n, k in enumerate(keyids)),
    )
    assert envelope.to_json() == canonicalize(envelope.to_dict())


def test_digest_is_sha256_of_canonical_json() -> None:
    """The idempotency key is reproducible by anyone from the canonical bytes."""
    envelope = sign_envelope(b"x", [_key(1)], "t")
    assert envelope.digest() == hashlib.sha256(envelope.to_json()).hexdigest()


def test_digest_ignores_member_order_and_base64_alphabet() -> None:
    """Re-sent content in another JSON layout or URL-safe base64 has the same digest."""
    envelope = sign_envelope(STATEMENT_PAYLOAD, [_key(1)])
    wire = envelope.to_dict()
    relaid = {
        "signatures": [
            {
                "sig": base64.urlsafe_b64encode(envelope.signatures[0].sig).decode(),
                "keyid": _key(1).key_id,
            }
        ],
        "payloadType": wire["payloadType"],
        "payload": base64.urlsafe_b64encode(envelope.payload).decode(),
    }
    assert Envelope.from_json(json.dumps(relaid, indent=2).encode()).digest() == envelope.digest()


def test_url_safe_base64_is_accepted() -> None:
    """protocol.md: verifiers MUST accept standard or URL-safe base64."""
    payload = b"\xfb\xff\xfe" * 8  # encodes to characters that differ between alphabets
    envelope = sign_envelope(payload, [_key(1)], "t")
    wire = envelope.to_dict()
    wire["payload"] = base64.urlsafe_b64encode(payload).decode()
    assert "-" in wire["payload"] or "_" in wire["payload"]
    assert Envelope.from_dict(wire).payload == payload


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda d: d.pop("payload"), "envelope has no 'payload' field"),
        (lambda d: d.pop("payloadType"), "envelope has no 'payloadType' field"),
        (lambda d: d.pop("signatures"), "envelope has no 'signatures' field"),
        (lambda d: d.update(payload=12), "envelope 'payload' must be a string, got a number"),
        (lambda d: d.update(payload="not base64!"), "payload is not valid base64"),
        (lambda d: d.update(payload="eA="), "payload is not valid base64"),
        (lambda d: d.update(payload="a+b_"), "payload is not valid base64"),
        (lambda d: d.update(payload=""), "envelope payload is empty"),
        (lambda d: d.update(payloadType=""), "envelope 'payloadType' is empty"),
        (lambda d: d.update(payloadType=None), "'payloadType' must be a string, got null"),
        (lambda d: d.update(signatures=[]), "envelope has no signatures"),
        (lambda d: d.update(signatures={}), "'signatures' must be an array, got an object"),
        (lambda d: d.update(signatures=["x"]), "signatures[0] must be a JSON object, got a string"),
        (lambda d: d["signatures"][0].pop("keyid"), "signatures[0] has no 'keyid' field"),
        (lambda d: d["signatures"][0].pop("sig"), "signatures[0] has no 'sig' field"),
        (lambda d: d["signatures"][0].update(keyid=""), "signatures[0] has an empty 'keyid'"),
        (lambda d: d["signatures"][0].update(sig="AAAA"), "signatures[0] 'sig' is 3 bytes"),
        (
            lambda d: d["signatures"][0].update(sig="%%%%"),
            "signatures[0] 'sig' is not valid base64",
        ),
        (lambda d: d["signatures"].append(dict(d["signatures"][0])), "signatures[1] repeats keyid"),
        (lambda d: d.update(extra=1), "envelope has unknown field(s): extra"),
        (lambda d: d["signatures"][0].update(cert="x"), "signatures[0] has unknown field(s): cert"),
    ],
)
def test_malformed_envelopes_are_rejected_with_a_precise_reason(mutate: Any, reason: str) -> None:
    """Each structural rule has its own diagnostic."""
    wire = sign_envelope(b"x", [_key(1)], "t").to_dict()
    mutate(wire)
    with pytest.raises(EnvelopeError) as excinfo:
        Envelope.from_dict(wire)
    assert reason in _reason(excinfo)


@pytest.mark.parametrize("value", [None, [], "envelope", 3])
def test_non_object_envelope_is_rejected(value: object) -> None:
    """The top level must be a JSON object."""
    with pytest.raises(EnvelopeError, match="envelope must be a JSON object"):
        Envelope.from_dict(value)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"{", "envelope is not valid JSON"),
        (b'{"payload":"eA==","payload":"eA=="}', "duplicate key 'payload'"),
        (b"\xff", "envelope is not valid JSON"),
    ],
)
def test_from_json_rejects_bad_json(data: bytes, reason: str) -> None:
    """Strict JSON: no syntax errors, duplicate keys or invalid UTF-8."""
    with pytest.raises(EnvelopeError) as excinfo:
        Envelope.from_json(data)
    assert reason in _reason(excinfo)


def test_direct_construction_is_validated_too() -> None:
    """An Envelope in hand is always one the wire format would accept."""
    with pytest.raises(EnvelopeError, match="no signatures"):
        Envelope(payload_type="t", payload=b"x", signatures=())
    with pytest.raises(EnvelopeError, match="'sig' is 63 bytes"):
        Envelope("t", b"x", (EnvelopeSignature("k", b"\0" * 63),))


def test_sign_needs_a_key() -> None:
    """An unsigned envelope is not a DSSE envelope."""
    with pytest.raises(EnvelopeError, match="at least one signing key"):
        sign_envelope(b"x", [])


def test_sign_with_the_same_key_twice_is_rejected() -> None:
    """Duplicate keyids would count one signer twice."""
    with pytest.raises(EnvelopeError, match="repeats keyid"):
        sign_envelope(b"x", [_key(1), _key(1)])


# --- verification -------------------------------------------------------------------------


def test_verify_returns_the_keyids_that_verified() -> None:
    """One trusted signer: its keyid comes back."""
    key = _key(1)
    envelope = sign_envelope(STATEMENT_PAYLOAD, [key])
    assert verify_envelope(envelope, _trust(key)) == (key.key_id,)


def test_multiple_signatures_all_verify_in_envelope_order() -> None:
    """envelope.md, Multiple signatures: each is checked on its own."""
    keys = [_key(3), _key(1), _key(2)]
    envelope = sign_envelope(STATEMENT_PAYLOAD, keys)
    assert verify_envelope(envelope, _trust(*keys)) == tuple(k.key_id for k in keys)


def test_unknown_signers_are_ignored_when_a_trusted_one_signed() -> None:
    """protocol.md, Multi-signature: signatures by other keys do not count, nor hurt."""
    known, stranger = _key(1), _key(2)
    envelope = sign_envelope(STATEMENT_PAYLOAD, [stranger, known])
    assert verify_envelope(envelope, _trust(known)) == (known.key_id,)


def test_only_unknown_signers_is_rejected() -> None:
    """The registry must know at least one signer; the reason lists the keyids seen."""
    stranger = _key(2)
    envelope = sign_envelope(STATEMENT_PAYLOAD, [stranger])
    with pytest.raises(EnvelopeError) as excinfo:
        verify_envelope(envelope, _trust(_key(1)))
    assert _reason(excinfo) == (
        f"envelope is not signed by any key the registry knows: keyids {stranger.key_id}"
    )


def test_required_signer_missing_is_rejected() -> None:
    """`require` names keys whose signature must be present and valid."""
    a, b = _key(1), _key(2)
    envelope = sign_envelope(STATEMENT_PAYLOAD, [a])
    assert verify_envelope(envelope, _trust(a, b), require=[a.key_id]) == (a.key_id,)
    with pytest.raises(EnvelopeError) as excinfo:
        verify_envelope(envelope, _trust(a, b), require=[a.key_id, b.key_id])
    assert _reason(excinfo) == f"envelope lacks a valid signature by required key(s): {b.key_id}"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda e: dataclasses.replace(e, payload=e.payload + b" "),
        lambda e: dataclasses.replace(e, payload_type="application/json"),
        lambda e: dataclasses.replace(
            e,
            signatures=(
                EnvelopeSignature(
                    e.signatures[0].keyid,
                    bytes([e.signatures[0].sig[0] ^ 1]) + e.signatures[0].sig[1:],
                ),
            ),
        ),
    ],
    ids=["modified-payload", "modified-payload-type", "modified-sig"],
)
def test_tampering_is_rejected_with_the_signature_error_as_cause(tamper: Any) -> None:
    """Payload, payloadType and sig are all authenticated (protocol.md, Parameters)."""
    key = _key(1)
    tampered = tamper(sign_envelope(STATEMENT_PAYLOAD, [key]))
    with pytest.raises(EnvelopeError) as excinfo:
        verify_envelope(tampered, _trust(key))
    assert _reason(excinfo).startswith(f"signature by key {key.key_id} does not verify")
    assert isinstance(excinfo.value.__cause__, SignatureError)


def test_one_bad_trusted_signature_rejects_even_if_another_verifies() -> None:
    """A failing signature by a known key means tampering, never a harmless extra."""
    a, b = _key(1), _key(2)
    good = sign_envelope(STATEMENT_PAYLOAD, [a])
    forged = EnvelopeSignature(b.key_id, b.sign(b"something else"))
    envelope = dataclasses.replace(good, signatures=(*good.signatures, forged))
    with pytest.raises(EnvelopeError, match=f"signature by key {b.key_id} does not verify"):
        verify_envelope(envelope, _trust(a, b))


def test_signature_by_another_key_under_a_trusted_keyid_fails() -> None:
    """keyid is only a hint: the trusted key itself must verify the signature."""
    victim, attacker = _key(1), _key(2)
    honest = sign_envelope(STATEMENT_PAYLOAD, [attacker])
    spoofed = EnvelopeSignature(victim.key_id, honest.signatures[0].sig)
    envelope = dataclasses.replace(honest, signatures=(spoofed,))
    with pytest.raises(EnvelopeError, match="does not verify"):
        verify_envelope(envelope, _trust(victim))


def test_inconsistent_trusted_map_is_a_programming_error() -> None:
    """A key filed under another key's id must not vouch under that id."""
    a, b = _key(1), _key(2)
    envelope = sign_envelope(STATEMENT_PAYLOAD, [a])
    with pytest.raises(ValueError, match="trusted key map files key"):
        verify_envelope(envelope, {a.key_id: b.public_key})


# --- interop with the independent implementation --------------------------------------------


def test_reference_signed_envelope_verifies_here() -> None:
    """cryptography + signing_spec.Sign produce an envelope our verifier accepts."""
    signer = CryptographySigner(RFC8032_TEST1_SEED)
    wire = Sign(PAYLOAD_TYPE_INTOTO, STATEMENT_PAYLOAD, signer)
    envelope = Envelope.from_json(wire.encode())
    trusted = {signer.keyid(): PublicKey(signer.public_bytes())}
    assert verify_envelope(envelope, trusted) == (signer.keyid(),)
    assert envelope.payload == STATEMENT_PAYLOAD


def test_reference_signed_url_safe_envelope_verifies_here() -> None:
    """A signer using the URL-safe alphabet (allowed by envelope.md) interoperates."""
    signer = CryptographySigner(RFC8032_TEST1_SEED)
    payload = b"\xfb\xff" * 20
    sig = signer.sign(PAE("t", payload))
    wire = {
        "payload": base64.urlsafe_b64encode(payload).decode(),
        "payloadType": "t",
        "signatures": [{"keyid": signer.keyid(), "sig": base64.urlsafe_b64encode(sig).decode()}],
    }
    envelope = Envelope.from_json(json.dumps(wire).encode())
    assert verify_envelope(envelope, {signer.keyid(): PublicKey(signer.public_bytes())})


def test_our_envelope_verifies_with_the_reference() -> None:
    """Our signatures verify under cryptography via signing_spec.Verify."""
    keys = [_key(1), _key(2)]
    envelope = sign_envelope(STATEMENT_PAYLOAD, keys)
    verifiers = [(k.key_id, CryptographyVerifier(k.public_key.raw)) for k in keys]
    result = Verify(envelope.to_json().decode(), verifiers)
    assert result.payloadType == PAYLOAD_TYPE_INTOTO
    assert result.payload == STATEMENT_PAYLOAD
    assert result.recognizedSigners == [k.key_id for k in keys]


def test_our_tampered_envelope_fails_with_the_reference() -> None:
    """The reference agrees that a modified payload is not signed."""
    key = _key(1)
    envelope = sign_envelope(STATEMENT_PAYLOAD, [key])
    wire = envelope.to_dict()
    wire["payload"] = b64enc(STATEMENT_PAYLOAD + b" ")
    with pytest.raises(ValueError, match="No valid signature found"):
        Verify(json.dumps(wire), [(key.key_id, CryptographyVerifier(key.public_key.raw))])


# --- known-answer vectors (tests/vectors/dsse) -----------------------------------------------

VECTOR_SOURCE = (
    "Built by reference_vectors() in tests/unit/test_envelope.py: Ed25519 by pyca/cryptography "
    "(deterministic, RFC 8032) over a transcription of the DSSE reference PAE "
    "(secure-systems-lab/dsse implementation/signing_spec.py); mutations applied after "
    "signing. Regenerate: .venv/bin/python -c 'from tests.unit.test_envelope import "
    "write_vectors; write_vectors()'"
)


def _signed_vector(description: str, payload_type: str, payload: bytes) -> dict[str, Any]:
    """A happy-path vector signed by the RFC 8032 TEST 1 key, via the independent stack."""
    signer = CryptographySigner(RFC8032_TEST1_SEED)
    message = PAE(payload_type, payload)
    envelope = json.loads(Sign(payload_type, payload, signer))
    return {
        "description": description,
        "source": VECTOR_SOURCE,
        "seed_hex": RFC8032_TEST1_SEED.hex(),
        "public_key_hex": signer.public_bytes().hex(),
        "keyid": signer.keyid(),
        "payload_type": payload_type,
        "payload_b64": b64enc(payload),
        "pae_b64": b64enc(message),
        "sig_b64": b64enc(signer.sign(message)),
        "envelope": envelope,
        "expected": {"verified_keyids": [signer.keyid()]},
    }


def _mutated_vector(
    base: dict[str, Any], description: str, envelope: dict[str, Any], error: str
) -> dict[str, Any]:
    """A vector whose envelope must be rejected with `error` in the reason."""
    return {
        **base,
        "description": description,
        "envelope": envelope,
        "expected": {"error": error},
    }


def reference_vectors() -> dict[str, dict[str, Any]]:
    """Every DSSE vector, by file stem, computed only with the independent stack."""
    hello = _signed_vector(
        "protocol.md's HelloWorld example, signed with Ed25519 (RFC 8032 TEST 1 key)",
        HELLO_TYPE,
        b"hello world",
    )
    statement = _signed_vector(
        "an in-toto Statement v1 payload, signed with the RFC 8032 TEST 1 key",
        PAYLOAD_TYPE_INTOTO,
        STATEMENT_PAYLOAD,
    )
    env = statement["envelope"]
    sig = b64dec(env["signatures"][0]["sig"])
    flipped = bytes([sig[0] ^ 1]) + sig[1:]
    does_not_verify = f"signature by key {statement['keyid']} does not verify"
    return {
        "happy-path-hello-world": hello,
        "happy-path-intoto-statement": statement,
        "modified-payload": _mutated_vector(
            statement,
            "payload changed by one trailing byte after signing",
            {**env, "payload": b64enc(STATEMENT_PAYLOAD + b" ")},
            does_not_verify,
        ),
        "modified-payload-type": _mutated_vector(
            statement,
            "payloadType changed after signing (it is authenticated by PAE)",
            {**env, "payloadType": "application/json"},
            does_not_verify,
        ),
        "modified-sig": _mutated_vector(
            statement,
            "first bit of the signature flipped",
            {**env, "signatures": [{**env["signatures"][0], "sig": b64enc(flipped)}]},
            does_not_verify,
        ),
        "unknown-keyid": _mutated_vector(
            statement,
            "valid signature, but filed under a keyid the verifier does not trust",
            {**env, "signatures": [{**env["signatures"][0], "keyid": "0" * 64}]},
            "envelope is not signed by any key the registry knows",
        ),
    }


def _encode_vector(vector: dict[str, Any]) -> str:
    """The exact text of a vector file."""
    return json.dumps(vector, indent=2, ensure_ascii=False) + "\n"


def write_vectors() -> None:
    """Write tests/vectors/dsse/*.json from reference_vectors()."""
    VECTORS.mkdir(parents=True, exist_ok=True)
    for name, vector in reference_vectors().items():
        (VECTORS / f"{name}.json").write_text(_encode_vector(vector), encoding="utf-8")


def test_rfc8032_test1_signature_is_the_published_one() -> None:
    """The independent signer reproduces RFC 8032 section 7.1 TEST 1 (empty message)."""
    expected = bytes.fromhex(
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    )
    assert CryptographySigner(RFC8032_TEST1_SEED).sign(b"") == expected


@pytest.mark.parametrize("name", sorted(reference_vectors()))
def test_vector_file_matches_the_independent_computation(name: str) -> None:
    """The stored vector is exactly what the independent stack computes today."""
    stored = (VECTORS / f"{name}.json").read_text(encoding="utf-8")
    assert stored == _encode_vector(reference_vectors()[name]), "run write_vectors()"


@pytest.mark.parametrize("path", sorted(VECTORS.glob("*.json")), ids=lambda p: p.stem)
def test_vector_against_our_implementation(path: Path) -> None:
    """Our signer reproduces each happy path exactly; our verifier agrees on every vector."""
    vector = json.loads(path.read_text(encoding="utf-8"))
    key = SigningKey(bytes.fromhex(vector["seed_hex"]))
    assert key.public_key.raw.hex() == vector["public_key_hex"]
    assert key.key_id == vector["keyid"]
    payload = b64dec(vector["payload_b64"])
    assert pae(vector["payload_type"], payload) == b64dec(vector["pae_b64"])
    trusted = _trust(key)
    envelope = Envelope.from_dict(vector["envelope"])
    if "error" in vector["expected"]:
        with pytest.raises(EnvelopeError) as excinfo:
            verify_envelope(envelope, trusted)
        assert vector["expected"]["error"] in _reason(excinfo)
        return
    ours = sign_envelope(payload, [key], vector["payload_type"])
    assert ours.to_dict() == vector["envelope"]
    assert b64enc(ours.signatures[0].sig) == vector["sig_b64"]
    assert list(verify_envelope(envelope, trusted)) == vector["expected"]["verified_keyids"]
