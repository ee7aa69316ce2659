"""Ed25519 keys: key ids, RFC 8032 known answers, and key files."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

import pytest

from attestations.errors import KeyFormatError, SignatureError
from attestations.keys import (
    PublicKey,
    SigningKey,
    b64encode,
    key_id,
    load_public_key,
    load_signing_key,
)

# RFC 8032 section 7.1, TEST 1.
RFC8032_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC8032_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
RFC8032_SIG_EMPTY = bytes.fromhex(
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
)


def test_key_id_is_sha256_of_the_raw_public_key() -> None:
    """Anyone can recompute a key id from the public key alone."""
    assert key_id(RFC8032_PUBLIC) == hashlib.sha256(RFC8032_PUBLIC).hexdigest()
    assert key_id(RFC8032_PUBLIC) == (
        "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9"
    )


@pytest.mark.parametrize("size", [0, 31, 33, 64])
def test_key_id_rejects_wrong_sizes(size: int) -> None:
    """Only a 32-byte Ed25519 key has a key id."""
    with pytest.raises(KeyFormatError, match=f"got {size}"):
        key_id(b"\0" * size)


def test_rfc8032_test1_public_key_and_signature() -> None:
    """The seed gives the published public key and the published empty-message signature."""
    key = SigningKey(RFC8032_SEED)
    assert key.public_key.raw == RFC8032_PUBLIC
    assert key.key_id == hashlib.sha256(RFC8032_PUBLIC).hexdigest()
    assert key.sign(b"") == RFC8032_SIG_EMPTY
    key.public_key.verify(b"", RFC8032_SIG_EMPTY)


def test_verify_rejects_a_wrong_signature_or_message() -> None:
    """A flipped bit or another message does not verify."""
    public = PublicKey(RFC8032_PUBLIC)
    with pytest.raises(SignatureError, match="does not verify"):
        public.verify(b"x", RFC8032_SIG_EMPTY)
    with pytest.raises(SignatureError, match="does not verify"):
        public.verify(b"", bytes([RFC8032_SIG_EMPTY[0] ^ 1]) + RFC8032_SIG_EMPTY[1:])
    with pytest.raises(SignatureError, match="64 bytes, got 63"):
        public.verify(b"", RFC8032_SIG_EMPTY[:63])


def test_signing_key_repr_hides_the_seed() -> None:
    """Logs and tracebacks must never show private key material."""
    assert RFC8032_SEED.hex() not in repr(SigningKey(RFC8032_SEED))
    assert repr(RFC8032_SEED) not in repr(SigningKey(RFC8032_SEED))


def test_seed_of_the_wrong_size_is_rejected() -> None:
    """An Ed25519 seed is exactly 32 bytes."""
    with pytest.raises(KeyFormatError, match="seed is 32 bytes, got 31"):
        SigningKey(b"\0" * 31)


def test_public_key_base64_round_trip() -> None:
    """to_base64 and from_base64 are inverses."""
    public = PublicKey(RFC8032_PUBLIC)
    assert PublicKey.from_base64(public.to_base64()) == public
    with pytest.raises(KeyFormatError, match="public key is not valid base64"):
        PublicKey.from_base64("not base64!")


def test_save_and_load_round_trip_with_mode_0600(tmp_path: Path) -> None:
    """The private key file is owner-only and loads back to the same key."""
    path = tmp_path / "keys" / "vendor.json"
    key = SigningKey(RFC8032_SEED)
    key.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_signing_key(path) == key
    assert load_public_key(path) == key.public_key


def test_public_key_file_loads(tmp_path: Path) -> None:
    """A public key file holds only the public half."""
    public = PublicKey(RFC8032_PUBLIC)
    path = tmp_path / "vendor.pub.json"
    path.write_text(json.dumps(public.to_file_dict()), encoding="utf-8")
    assert load_public_key(path) == public
    with pytest.raises(KeyFormatError, match="not a Trust Registry private key file"):
        load_signing_key(path)


def test_save_refuses_to_overwrite(tmp_path: Path) -> None:
    """Overwriting a key file would destroy a key nobody can recover."""
    path = tmp_path / "vendor.json"
    SigningKey(RFC8032_SEED).save(path)
    before = path.read_bytes()
    with pytest.raises(FileExistsError):
        SigningKey.generate().save(path)
    assert path.read_bytes() == before


def _private_document(**changes: object) -> dict[str, object]:
    """A valid private key file document with some fields changed (None removes)."""
    document: dict[str, object] = dict(SigningKey(RFC8032_SEED).to_file_dict())
    for name, value in changes.items():
        if value is None:
            document.pop(name, None)
        else:
            document[name] = value
    return document


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{", "is not JSON"),
        ("[]", "does not hold a JSON object"),
        (json.dumps(_private_document(type="something-else")), "not a Trust Registry private key"),
        (json.dumps(_private_document(private_key=None)), "not a Trust Registry private key"),
        (json.dumps(_private_document(private_key="***")), "private key is not valid base64"),
        (json.dumps(_private_document(private_key=b64encode(b"\0" * 31))), "seed is 32 bytes"),
        (json.dumps(_private_document(key_id="0" * 64)), "key_id does not match"),
    ],
)
def test_bad_private_key_files_are_rejected(tmp_path: Path, content: str, reason: str) -> None:
    """Each defect in a key file has its own diagnostic."""
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(KeyFormatError, match=reason):
        load_signing_key(path)


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({"type": "x"}, "not a Trust Registry key file"),
        (
            {**PublicKey(RFC8032_PUBLIC).to_file_dict(), "key_id": "0" * 64},
            "key_id does not match",
        ),
        (
            {**PublicKey(RFC8032_PUBLIC).to_file_dict(), "public_key": b64encode(b"\0" * 31)},
            "public key is 32 bytes, got 31",
        ),
    ],
)
def test_bad_public_key_files_are_rejected(
    tmp_path: Path, document: dict[str, object], reason: str
) -> None:
    """A public key file must name its type and match its key id."""
    path = tmp_path / "bad.pub.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(KeyFormatError, match=reason):
        load_public_key(path)


def test_missing_key_file_is_a_key_format_error(tmp_path: Path) -> None:
    """A missing file is reported, not raised as a bare OSError."""
    with pytest.raises(KeyFormatError, match="cannot read key file"):
        load_signing_key(tmp_path / "absent.json")
