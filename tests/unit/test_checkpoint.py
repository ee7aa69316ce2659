"""C2SP signed notes and tlog-checkpoints, checked against Go's golang.org/x/mod/sumdb/note."""

from __future__ import annotations

import base64

import pytest

from attestations.checkpoint import (
    Checkpoint,
    key_hash,
    open_checkpoint,
    open_note,
    parse_signer_key,
    parse_verifier_key,
    sign_checkpoint,
    sign_note,
    signer_key,
    verifier_key,
)
from attestations.errors import CheckpointError
from attestations.keys import SigningKey
from attestations.merkle import leaf_hash

# Known answers from golang/mod sumdb/note/note_test.go (TestSign, TestOpen,
# TestNewVerifier), commit 02c991387e35f9e4c0a9b7ce137717055f8d716d.
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgK"
    "vqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oO"
    "TGwnWLox33WWd1RvMc+QQ=\n"
)

# A real sum.golang.org signed tree head (a tlog-checkpoint with origin "go.sum database
# tree"), from transparency-dev/trillian-tessera internal/parse/parse_test.go
# (BenchmarkCheckpointUnsafe), verified with the Go checksum database's published key.
SUMDB_VKEY = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
SUMDB_NOTE = (
    "go.sum database tree\n31700353\nqINS1GRFhWHwdkUeqLEoP4yEMkTBBzxBkGwGQlVlVcs=\n\n"
    "— sum.golang.org Az3grnmrIUEDFqHzAElIQCPNoRFRAAdFo47fooyWKMHb89k11GJh5zHIfNCOBmwn/"
    "C3YI8oW9/C8DJ87F61QqspBYwM=\n"
)

ORIGIN = "registry.example.org/log"


def _reason(excinfo: pytest.ExceptionInfo[CheckpointError]) -> str:
    return excinfo.value.reason


# -- signed notes, byte for byte with Go ------------------------------------------------


def test_signing_matches_go_note_sign_byte_for_byte() -> None:
    name, key = parse_signer_key(PETER_SKEY)
    assert name == "PeterNeumann"
    assert sign_note(TEXT, key, name) == TEXT + "\n" + PETER_SIG
    assert verifier_key(name, key.public_key) == PETER_VKEY
    assert signer_key(name, key) == PETER_SKEY


def test_go_verifier_key_parses() -> None:
    name, hash_, public_key = parse_verifier_key(PETER_VKEY)
    assert (name, hash_.hex()) == ("PeterNeumann", "c74f20a3")
    assert key_hash(name, public_key) == hash_


def test_open_verifies_the_signature_by_the_given_key_and_ignores_others() -> None:
    note = TEXT + "\n" + PETER_SIG + ENOCH_SIG
    assert open_note(note, PETER_VKEY) == TEXT
    assert open_note(note, ENOCH_VKEY) == TEXT
    assert open_note(note.encode(), PETER_VKEY) == TEXT


def test_open_rejects_a_note_without_that_key_s_signature() -> None:
    with pytest.raises(CheckpointError) as caught:
        open_note(TEXT + "\n" + ENOCH_SIG, PETER_VKEY)
    assert (
        _reason(caught)
        == "note is not signed by PeterNeumann+c74f20a3 (signed by EnochRoot+af0cfe78)"
    )


def test_open_rejects_go_s_invalid_signature() -> None:
    # TestOpen: "Invalid signature." splices ABCD into the base64 signature.
    broken = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(CheckpointError) as caught:
        open_note(TEXT + "\n" + broken, PETER_VKEY)
    assert (
        _reason(caught) == "signature by PeterNeumann+c74f20a3 does not verify over the note text"
    )


@pytest.mark.parametrize(
    ("note", "reason"),
    [
        (TEXT, "note has no signatures: expected a blank line, then signature lines"),
        (TEXT + "\n", "note does not end with a newline after its last signature line"),
        (
            TEXT + "\n" + PETER_SIG[:-1],
            "note does not end with a newline after its last signature line",
        ),
        ("\x01" + TEXT + "\n" + PETER_SIG, "note contains control character '\\x01' at offset 0"),
        (
            TEXT + "\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNX"
            "gKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
            "signature line 1 is not '— <key name> <base64 signature>'",
        ),
        (
            TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
            "signature line 2 does not start with '— '",
        ),
        (TEXT + "\n" + PETER_SIG * 101, "note has 101 signatures, at most 100 allowed"),
    ],
    ids=[
        "no-signatures",
        "blank-line-only",
        "truncated-line",
        "control-character",
        "bad-name",
        "unexpected-line",
        "too-many-signatures",
    ],
)
def test_open_rejects_go_s_malformed_notes(note: str, reason: str) -> None:
    with pytest.raises(CheckpointError) as caught:
        open_note(note, PETER_VKEY)
    assert _reason(caught) == reason


def test_open_rejects_invalid_utf8() -> None:
    with pytest.raises(CheckpointError, match="not valid UTF-8 at byte 0"):
        open_note(b"\xff" + (TEXT + "\n" + PETER_SIG).encode(), PETER_VKEY)


def test_every_mangled_go_verifier_key_is_rejected() -> None:
    # TestNewVerifier: bumping any one character must make the key unusable.
    for position in range(len(PETER_VKEY)):
        mangled = (
            PETER_VKEY[:position] + chr(ord(PETER_VKEY[position]) + 1) + PETER_VKEY[position + 1 :]
        )
        with pytest.raises(CheckpointError):
            parse_verifier_key(mangled)
    for bad in (
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        PETER_VKEY[:-1],
        "PeterNeumann+c74f20a3",
    ):
        with pytest.raises(CheckpointError):
            parse_verifier_key(bad)


def test_key_names_with_spaces_or_plus_are_refused() -> None:
    key = SigningKey(bytes(32))
    for name in ("", "a b", "a+b", "a\u3000b"):
        with pytest.raises(CheckpointError, match="must be non-empty, without spaces or '\\+'"):
            verifier_key(name, key.public_key)


# -- checkpoints ------------------------------------------------------------------------


def test_real_sum_golang_org_checkpoint_verifies() -> None:
    checkpoint = open_checkpoint(SUMDB_NOTE, SUMDB_VKEY, origin="go.sum database tree")
    assert checkpoint.size == 31700353
    assert checkpoint.root_hash.hex() == (
        "a88352d464458561f076451ea8b1283f8c843244c1073c41906c0642556555cb"
    )


@pytest.fixture
def signer() -> tuple[SigningKey, str]:
    return SigningKey(bytes(range(32))), "registry.example.org"


def _checkpoint(size: int = 42, *extensions: str) -> Checkpoint:
    return Checkpoint(ORIGIN, size, leaf_hash(b"root"), tuple(extensions))


def test_checkpoint_body_is_the_c2sp_layout() -> None:
    root = leaf_hash(b"root")
    body = _checkpoint(42, "extension one").body()
    assert body == (f"{ORIGIN}\n42\n{base64.b64encode(root).decode()}\nextension one\n".encode())
    assert Checkpoint.parse(body.decode()) == _checkpoint(42, "extension one")


def test_sign_and_open_round_trip(signer: tuple[SigningKey, str]) -> None:
    key, name = signer
    checkpoint = _checkpoint(7, "timestamp 1700000000")
    note = sign_checkpoint(checkpoint, key, name)
    vkey = verifier_key(name, key.public_key)
    assert open_checkpoint(note, vkey) == checkpoint
    assert open_checkpoint(note, vkey, origin=ORIGIN) == checkpoint
    assert note.startswith(checkpoint.body().decode() + "\n— registry.example.org ")


def test_witness_cosignatures_are_ignored(signer: tuple[SigningKey, str]) -> None:
    key, name = signer
    note = sign_checkpoint(_checkpoint(), key, name)
    witness = SigningKey(bytes([7]) * 32)
    cosigned = (
        note
        + sign_note(_checkpoint().body().decode(), witness, "witness.example").split("\n\n", 1)[1]
    )
    assert open_checkpoint(cosigned, verifier_key(name, key.public_key)) == _checkpoint()
    assert open_checkpoint(cosigned, verifier_key("witness.example", witness.public_key))


def test_tampered_size_or_root_breaks_the_signature(signer: tuple[SigningKey, str]) -> None:
    key, name = signer
    note = sign_checkpoint(_checkpoint(42), key, name)
    vkey = verifier_key(name, key.public_key)
    expected = (
        f"signature by {name}+{key_hash(name, key.public_key).hex()} "
        "does not verify over the note text"
    )
    other_root = base64.b64encode(leaf_hash(b"other")).decode()
    root_line = base64.b64encode(leaf_hash(b"root")).decode()
    for tampered in (note.replace("\n42\n", "\n43\n", 1), note.replace(root_line, other_root)):
        with pytest.raises(CheckpointError) as caught:
            open_checkpoint(tampered, vkey)
        assert _reason(caught) == expected


def test_signature_by_another_key_is_not_accepted(signer: tuple[SigningKey, str]) -> None:
    key, name = signer
    impostor = SigningKey(bytes([9]) * 32)
    note = sign_checkpoint(_checkpoint(), impostor, name)
    vkey = verifier_key(name, key.public_key)
    with pytest.raises(CheckpointError, match=r"^note is not signed by registry\.example\.org\+"):
        open_checkpoint(note, vkey)


def test_truncated_note_is_malformed(signer: tuple[SigningKey, str]) -> None:
    key, name = signer
    note = sign_checkpoint(_checkpoint(), key, name)
    vkey = verifier_key(name, key.public_key)
    with pytest.raises(CheckpointError, match="does not end with a newline"):
        open_checkpoint(note[:-1], vkey)
    with pytest.raises(CheckpointError, match="no signatures"):
        open_checkpoint(note.split("\n\n")[0] + "\n", vkey)


def test_origin_mismatch(signer: tuple[SigningKey, str]) -> None:
    key, name = signer
    note = sign_checkpoint(_checkpoint(), key, name)
    with pytest.raises(CheckpointError) as caught:
        open_checkpoint(note, verifier_key(name, key.public_key), origin="other.example/log")
    assert _reason(caught) == (
        "checkpoint origin 'registry.example.org/log' is not the expected 'other.example/log'"
    )


ROOT_B64 = "qINS1GRFhWHwdkUeqLEoP4yEMkTBBzxBkGwGQlVlVcs="


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            f"o\n007\n{ROOT_B64}\n",
            "checkpoint tree size '007' is not a decimal number without leading zeros",
        ),
        (
            f"o\n-1\n{ROOT_B64}\n",
            "checkpoint tree size '-1' is not a decimal number without leading zeros",
        ),
        (
            f"o\n+5\n{ROOT_B64}\n",
            "checkpoint tree size '+5' is not a decimal number without leading zeros",
        ),
        (
            f"o\n\u0663\n{ROOT_B64}\n",
            "checkpoint tree size '\u0663' is not a decimal number without leading zeros",
        ),
        (
            f"o\n{1 << 64}\n{ROOT_B64}\n",
            f"checkpoint tree size {1 << 64} is not a 64-bit unsigned integer",
        ),
        ("o\n5\nthisisnotright\n", "checkpoint root hash is not valid base64"),
        ("o\n5\nAAAA\n", "checkpoint root hash is 3 bytes, a SHA-256 hash is 32"),
        (f"5\n{ROOT_B64}\n", "checkpoint body has 2 lines, needs origin, tree size and root hash"),
        (f"\n5\n{ROOT_B64}\n", "checkpoint origin must be one non-empty line"),
        (f"o\n5\n{ROOT_B64}", "checkpoint body must end with a newline"),
    ],
    ids=[
        "leading-zeros",
        "negative",
        "plus-sign",
        "non-ascii-digit",
        "beyond-uint64",
        "root-not-base64",
        "root-not-32-bytes",
        "no-origin",
        "empty-origin",
        "no-final-newline",
    ],
)
def test_malformed_checkpoint_bodies(body: str, reason: str) -> None:
    with pytest.raises(CheckpointError) as caught:
        Checkpoint.parse(body)
    assert _reason(caught) == reason


def test_malformed_body_is_reported_after_the_signature_verifies(
    signer: tuple[SigningKey, str],
) -> None:
    key, name = signer
    note = sign_note(f"o\n007\n{ROOT_B64}\n", key, name)
    with pytest.raises(CheckpointError, match="'007' is not a decimal number"):
        open_checkpoint(note, verifier_key(name, key.public_key))


def test_checkpoint_constructor_validates() -> None:
    with pytest.raises(CheckpointError, match="root hash is 31 bytes"):
        Checkpoint(ORIGIN, 1, bytes(31))
    with pytest.raises(CheckpointError, match="extension line 4 must be one non-empty line"):
        Checkpoint(ORIGIN, 1, bytes(32), ("",))
    with pytest.raises(CheckpointError, match="tree size -1 is not a 64-bit unsigned integer"):
        Checkpoint(ORIGIN, -1, bytes(32))
