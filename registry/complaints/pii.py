"""Personal data at rest: the contact is sealed with PyNaCl SecretBox under a key kept
apart from the database (var/keys/pii.key, mode 0600, or `REGISTRY_PII_KEY`, read into
`Settings.pii_key`).

A stolen database file therefore reveals no names, phones or e-mails. Rate limits and
duplicate merging need to recognise a repeat contact or IP without storing it, so they
use keyed BLAKE2b fingerprints under sub-keys derived from the same secret: without the
key a fingerprint cannot be dictionary-attacked back to a phone number.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import msgspec
from nacl.exceptions import CryptoError
from nacl.secret import SecretBox

from registry.datadir import private_dir
from registry.settings import Settings

PII_KEY_FILE = "pii.key"
PII_KEY_ENV = "REGISTRY_PII_KEY"
"""Where `Settings.from_env` reads `pii_key`; named in errors about it."""


class Contact(msgspec.Struct, forbid_unknown_fields=True):
    """How the consumer can be reached; only ever stored sealed."""

    name: str
    phone: str | None = None
    email: str | None = None

    def normalised(self) -> str:
        """The identity used for rate limits: phone digits or the lower-cased e-mail."""
        if self.phone:
            return "phone:" + "".join(ch for ch in self.phone if ch.isdigit())
        return "email:" + (self.email or "").strip().lower()


def pii_key_path(settings: Settings) -> Path:
    """Where the PII key file lives."""
    return settings.keys_dir / PII_KEY_FILE


def load_or_create_pii_key(settings: Settings) -> bytes:
    """The 32-byte PII key: from the environment, the key file, or newly created (0600)."""
    if settings.pii_key:
        return _decode_key(settings.pii_key, PII_KEY_ENV)
    path = pii_key_path(settings)
    if path.exists():
        return _decode_key(path.read_text().strip(), str(path))
    private_dir(settings.data_dir)
    private_dir(settings.keys_dir)
    key = secrets.token_bytes(SecretBox.KEY_SIZE)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another worker created it first; use theirs.
        return _decode_key(path.read_text().strip(), str(path))
    with os.fdopen(descriptor, "w") as handle:
        handle.write(base64.b64encode(key).decode("ascii") + "\n")
    return key


def _decode_key(text: str, source: str) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise SystemExit(f"{source}: the PII key must be base64") from exc
    if len(key) != SecretBox.KEY_SIZE:
        raise SystemExit(f"{source}: the PII key must be {SecretBox.KEY_SIZE} bytes")
    return key


@dataclass(frozen=True)
class PiiVault:
    """Seals and opens contacts; derives fingerprint and form-token keys."""

    key: bytes

    def _subkey(self, purpose: str) -> bytes:
        return hashlib.blake2b(self.key, digest_size=32, person=purpose.encode()[:16]).digest()

    def seal(self, contact: Contact) -> bytes:
        """SecretBox(nonce ‖ XSalsa20-Poly1305 ciphertext) of the contact JSON."""
        return bytes(SecretBox(self.key).encrypt(msgspec.json.encode(contact)))

    def open(self, sealed: bytes) -> Contact:
        """The contact, or an error if the key is wrong or the bytes were altered."""
        try:
            plain = SecretBox(self.key).decrypt(sealed)
        except CryptoError as exc:
            raise RuntimeError("the sealed contact does not open with this PII key") from exc
        return msgspec.json.decode(plain, type=Contact)

    def fingerprint(self, purpose: str, value: str) -> str:
        """Keyed, non-reversible hex digest of `value` for `purpose` (contact, ip)."""
        return hashlib.blake2b(
            value.encode("utf-8"), digest_size=32, key=self._subkey(purpose)
        ).hexdigest()

    def form_mac(self, message: str) -> str:
        """HMAC-SHA256 of a form token's body (CSRF tokens, double-submit)."""
        return hmac.new(self._subkey("csrf"), message.encode(), hashlib.sha256).hexdigest()
