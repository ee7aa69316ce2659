"""Signed tree heads as C2SP tlog-checkpoints inside C2SP signed notes.

Using the formats of https://github.com/C2SP/C2SP (tlog-checkpoint.md, signed-note.md)
byte for byte means existing witnesses and Go tooling (golang.org/x/mod/sumdb/note)
can verify and cosign our checkpoints without knowing anything about the registry.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from attestations.errors import AttestationError, CheckpointError
from attestations.keys import PublicKey, SigningKey, b64encode
from attestations.merkle import HASH_SIZE

ALGORITHM_ED25519 = 0x01
"""Signature type byte for Ed25519 in signed-note keys (signed-note.md, "Signature types")."""
KEY_HASH_SIZE = 4
MAX_SIGNATURES = 100
"""golang.org/x/mod/sumdb/note rejects notes with more signature lines than this."""
SIGNATURE_PREFIX = "— "
"""Every signature line starts with U+2014 EM DASH and a space (signed-note.md)."""
PRIVATE_KEY_PREFIX = "PRIVATE+KEY+"
MAX_TREE_SIZE = (1 << 64) - 1
_DECIMAL = re.compile(r"0|[1-9][0-9]*")


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CheckpointError(f"{what} is not valid base64") from exc


def _check_key_name(name: str) -> None:
    """signed-note.md: a key name is non-empty and has no Unicode spaces and no '+'."""
    if not name or "+" in name or any(char.isspace() for char in name):
        raise CheckpointError(f"key name {name!r} must be non-empty, without spaces or '+'")


def key_hash(name: str, public_key: PublicKey) -> bytes:
    """The 4-byte key hash: SHA-256(name || "\\n" || 0x01 || public key)[:4] (signed-note.md)."""
    material = name.encode() + b"\n" + bytes([ALGORITHM_ED25519]) + public_key.raw
    return hashlib.sha256(material).digest()[:KEY_HASH_SIZE]


def verifier_key(name: str, public_key: PublicKey) -> str:
    """The vkey string `<name>+<hex key hash>+<base64(0x01 || public key)>` verifiers configure."""
    _check_key_name(name)
    encoded = b64encode(bytes([ALGORITHM_ED25519]) + public_key.raw)
    return f"{name}+{key_hash(name, public_key).hex()}+{encoded}"


def _split_key(text: str, what: str) -> tuple[str, bytes, bytes]:
    """Split `<name>+<hex hash>+<base64(0x01 || key)>`, checking the algorithm byte."""
    parts = text.split("+", 2)
    if len(parts) != 3 or not re.fullmatch(r"[0-9a-f]{8}", parts[1]):
        raise CheckpointError(f"{what} is not of the form <name>+<8 hex digits>+<base64 key>")
    name, hash_hex, encoded = parts
    _check_key_name(name)
    material = _b64decode(encoded, f"{what} key material")
    if len(material) != 33 or material[0] != ALGORITHM_ED25519:
        raise CheckpointError(f"{what} is not an Ed25519 key (type 0x01 followed by 32 bytes)")
    return name, bytes.fromhex(hash_hex), material[1:]


def parse_verifier_key(text: str) -> tuple[str, bytes, PublicKey]:
    """Parse a vkey string into (name, 4-byte key hash, key), rejecting a hash that does not match."""
    name, claimed, raw = _split_key(text.strip(), "verifier key")
    public_key = PublicKey(raw)
    if claimed != key_hash(name, public_key):
        raise CheckpointError(
            f"verifier key hash {claimed.hex()} does not match its name and key "
            f"({key_hash(name, public_key).hex()})"
        )
    return name, claimed, public_key


def signer_key(name: str, key: SigningKey) -> str:
    """The Go-compatible private key string `PRIVATE+KEY+<name>+<hex hash>+<base64(0x01 || seed)>`."""
    _check_key_name(name)
    encoded = b64encode(bytes([ALGORITHM_ED25519]) + key.seed)
    return f"{PRIVATE_KEY_PREFIX}{name}+{key_hash(name, key.public_key).hex()}+{encoded}"


def parse_signer_key(text: str) -> tuple[str, SigningKey]:
    """Parse a Go-style private key string into (name, key), so keys move between tools."""
    if not text.startswith(PRIVATE_KEY_PREFIX):
        raise CheckpointError(f"signer key does not start with {PRIVATE_KEY_PREFIX!r}")
    name, claimed, seed = _split_key(text.strip()[len(PRIVATE_KEY_PREFIX) :], "signer key")
    key = SigningKey(seed)
    if claimed != key_hash(name, key.public_key):
        raise CheckpointError(f"signer key hash {claimed.hex()} does not match its name and key")
    return name, key


def sign_note(text: str, key: SigningKey, name: str) -> str:
    """A signed note: the text, a blank line, and `— <name> <base64(key hash || signature)>`."""
    _check_key_name(name)
    _check_text(text)
    signature = key_hash(name, key.public_key) + key.sign(text.encode())
    return f"{text}\n{SIGNATURE_PREFIX}{name} {b64encode(signature)}\n"


def _check_text(text: str) -> None:
    """signed-note.md: non-empty UTF-8 ending in a newline, no control characters but newline."""
    if not text.endswith("\n"):
        raise CheckpointError("note text must be non-empty and end with a newline")
    for offset, char in enumerate(text):
        if char < " " and char != "\n":
            raise CheckpointError(f"note contains control character {char!r} at offset {offset}")


def open_note(note_text: str | bytes, verifier_key: str) -> str:
    """Return the note's text once a signature by `verifier_key` verifies over it.

    Signatures by other keys (a witness's cosignature, say) are parsed but not checked,
    as signed-note.md asks of verifiers that do not know those keys.
    """
    name, expected_hash, public_key = parse_verifier_key(verifier_key)
    if isinstance(note_text, bytes):
        try:
            note = note_text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CheckpointError(f"note is not valid UTF-8 at byte {exc.start}") from exc
    else:
        note = note_text
    split = note.rfind("\n\n")
    if split < 0:
        raise CheckpointError("note has no signatures: expected a blank line, then signature lines")
    text, block = note[: split + 1], note[split + 2 :]
    _check_text(text)
    if not block.endswith("\n"):
        raise CheckpointError("note does not end with a newline after its last signature line")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise CheckpointError(f"note has {len(lines)} signatures, at most {MAX_SIGNATURES} allowed")
    signers: list[str] = []
    matched = False
    for number, line in enumerate(lines, start=1):
        signer, signed_hash, signature = _parse_signature_line(line, number)
        signers.append(f"{signer}+{signed_hash.hex()}")
        if signer != name or signed_hash != expected_hash:
            continue
        try:
            public_key.verify(text.encode(), signature)
        except AttestationError as exc:
            raise CheckpointError(
                f"signature by {name}+{expected_hash.hex()} does not verify over the note text"
            ) from exc
        matched = True
    if not matched:
        raise CheckpointError(
            f"note is not signed by {name}+{expected_hash.hex()} (signed by {', '.join(signers)})"
        )
    return text


def _parse_signature_line(line: str, number: int) -> tuple[str, bytes, bytes]:
    if not line.startswith(SIGNATURE_PREFIX):
        raise CheckpointError(f"signature line {number} does not start with '— '")
    fields = line[len(SIGNATURE_PREFIX) :].split(" ")
    if len(fields) != 2:
        raise CheckpointError(f"signature line {number} is not '— <key name> <base64 signature>'")
    signer, encoded = fields
    _check_key_name(signer)
    raw = _b64decode(encoded, f"signature line {number}")
    if len(raw) <= KEY_HASH_SIZE:
        raise CheckpointError(f"signature line {number} is too short to hold a key hash")
    return signer, raw[:KEY_HASH_SIZE], raw[KEY_HASH_SIZE:]


@dataclass(frozen=True)
class Checkpoint:
    """A log's signed tree head: origin, tree size, root hash and extension lines (tlog-checkpoint)."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise CheckpointError("checkpoint origin must be one non-empty line")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise CheckpointError(
                f"checkpoint tree size {self.size} is not a 64-bit unsigned integer"
            )
        if len(self.root_hash) != HASH_SIZE:
            raise CheckpointError(
                f"checkpoint root hash is {len(self.root_hash)} bytes, a SHA-256 hash is {HASH_SIZE}"
            )
        for number, line in enumerate(self.extensions, start=4):
            if not line or "\n" in line:
                raise CheckpointError(
                    f"checkpoint extension line {number} must be one non-empty line"
                )

    def body(self) -> bytes:
        """The note text: origin, decimal size, base64 root, extensions, each ending in a newline."""
        lines = [self.origin, str(self.size), b64encode(self.root_hash), *self.extensions]
        return "".join(f"{line}\n" for line in lines).encode()

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse a checkpoint body, rejecting anything a strict C2SP verifier would reject."""
        if not text.endswith("\n"):
            raise CheckpointError("checkpoint body must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise CheckpointError(
                f"checkpoint body has {len(lines)} lines, needs origin, tree size and root hash"
            )
        origin, size_text, root_text, *extensions = lines
        if not _DECIMAL.fullmatch(size_text):
            raise CheckpointError(
                f"checkpoint tree size {size_text!r} is not a decimal number without leading zeros"
            )
        root_hash = _b64decode(root_text, "checkpoint root hash")
        return cls(origin, int(size_text), root_hash, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, key: SigningKey, name: str) -> str:
    """The checkpoint as a signed note with one signature by `key` under key name `name`."""
    return sign_note(checkpoint.body().decode(), key, name)


def open_checkpoint(
    note_text: str | bytes, verifier_key: str, *, origin: str | None = None
) -> Checkpoint:
    """Verify the note's signature by `verifier_key` and parse the checkpoint it carries.

    Pass `origin` to pin the log: a checkpoint from another log signed by the same key
    must not be mistaken for this one's (tlog-checkpoint.md, "Origin").
    """
    checkpoint = Checkpoint.parse(open_note(note_text, verifier_key))
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointError(
            f"checkpoint origin {checkpoint.origin!r} is not the expected {origin!r}"
        )
    return checkpoint
