"""Ed25519 keys (PyNaCl) and the key id the registry names them by.

The key id is the lowercase hex SHA-256 of the raw 32-byte public key, so anyone can
recompute it from the key alone. Key files are small JSON documents; the private one
holds the 32-byte seed and is written with mode 0600.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import nacl.exceptions
import nacl.signing

from attestations.errors import KeyFormatError, SignatureError

PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64
KEY_FILE_TYPE = "trust-registry/ed25519-private-key"
PUBLIC_KEY_FILE_TYPE = "trust-registry/ed25519-public-key"


def key_id(public_key: bytes) -> str:
    """Return the key id: lowercase hex SHA-256 of the raw public key."""
    if len(public_key) != PUBLIC_KEY_SIZE:
        raise KeyFormatError(
            f"an Ed25519 public key is {PUBLIC_KEY_SIZE} bytes, got {len(public_key)}"
        )
    return hashlib.sha256(public_key).hexdigest()


def b64decode_strict(text: str, what: str) -> bytes:
    """Decode standard base64, naming `what` in the error when it is not."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise KeyFormatError(f"{what} is not valid base64") from exc


def b64encode(data: bytes) -> str:
    """Standard base64 with padding, as text."""
    return base64.b64encode(data).decode("ascii")


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 verification key."""

    raw: bytes
    key_id: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key_id", key_id(self.raw))

    @classmethod
    def from_base64(cls, text: str) -> PublicKey:
        """Parse a base64 raw public key."""
        return cls(b64decode_strict(text, "public key"))

    def to_base64(self) -> str:
        """The raw key as base64."""
        return b64encode(self.raw)

    def verify(self, message: bytes, signature: bytes) -> None:
        """Raise SignatureError unless `signature` is this key's signature over `message`."""
        if len(signature) != SIGNATURE_SIZE:
            raise SignatureError(
                f"an Ed25519 signature is {SIGNATURE_SIZE} bytes, got {len(signature)}"
            )
        try:
            nacl.signing.VerifyKey(self.raw).verify(message, signature)
        except nacl.exceptions.BadSignatureError as exc:
            raise SignatureError(
                f"signature does not verify under key {self.key_id[:16]}…"
            ) from exc

    def to_file_dict(self) -> dict[str, str]:
        """The JSON document of a public key file."""
        return {"type": PUBLIC_KEY_FILE_TYPE, "key_id": self.key_id, "public_key": self.to_base64()}


@dataclass(frozen=True)
class SigningKey:
    """An Ed25519 private key; `repr` never shows the seed."""

    seed: bytes = field(repr=False)
    public_key: PublicKey = field(init=False)

    def __post_init__(self) -> None:
        if len(self.seed) != PUBLIC_KEY_SIZE:
            raise KeyFormatError(
                f"an Ed25519 seed is {PUBLIC_KEY_SIZE} bytes, got {len(self.seed)}"
            )
        verify_key = nacl.signing.SigningKey(self.seed).verify_key
        object.__setattr__(self, "public_key", PublicKey(bytes(verify_key)))

    @classmethod
    def generate(cls) -> SigningKey:
        """A fresh key from the operating system's CSPRNG."""
        return cls(bytes(nacl.signing.SigningKey.generate()))

    @property
    def key_id(self) -> str:
        """The key id of the public half."""
        return self.public_key.key_id

    def sign(self, message: bytes) -> bytes:
        """The 64-byte detached Ed25519 signature over `message`."""
        return bytes(nacl.signing.SigningKey(self.seed).sign(message).signature)

    def to_file_dict(self) -> dict[str, str]:
        """The JSON document of a private key file."""
        return {
            "type": KEY_FILE_TYPE,
            "key_id": self.key_id,
            "public_key": self.public_key.to_base64(),
            "private_key": b64encode(self.seed),
        }

    def save(self, path: Path) -> None:
        """Write the private key file with mode 0600, refusing to overwrite one."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(self.to_file_dict(), handle, indent=2)
            handle.write("\n")


def load_signing_key(path: Path) -> SigningKey:
    """Read a private key file written by `SigningKey.save`."""
    document = _read_key_document(path)
    if document.get("type") != KEY_FILE_TYPE or "private_key" not in document:
        raise KeyFormatError(f"{path} is not a Trust Registry private key file")
    key = SigningKey(b64decode_strict(str(document["private_key"]), "private key"))
    if document.get("key_id") not in (None, key.key_id):
        raise KeyFormatError(f"{path}: key_id does not match the key it holds")
    return key


def load_public_key(path: Path) -> PublicKey:
    """Read a public key file, or take the public half of a private key file."""
    document = _read_key_document(path)
    if document.get("type") == KEY_FILE_TYPE:
        return load_signing_key(path).public_key
    if document.get("type") != PUBLIC_KEY_FILE_TYPE or "public_key" not in document:
        raise KeyFormatError(f"{path} is not a Trust Registry key file")
    key = PublicKey.from_base64(str(document["public_key"]))
    if document.get("key_id") not in (None, key.key_id):
        raise KeyFormatError(f"{path}: key_id does not match the key it holds")
    return key


def _read_key_document(path: Path) -> dict[str, object]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise KeyFormatError(f"cannot read key file {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise KeyFormatError(f"{path} is not JSON: {exc.msg}") from exc
    if not isinstance(document, dict):
        raise KeyFormatError(f"{path} does not hold a JSON object")
    return document
