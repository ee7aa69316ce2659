"""Pure complaint rules: the PII vault and its key, language choice, filing checks."""

from __future__ import annotations

import base64
import stat
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.complaints.filing import ComplaintSubmission, clean_submission
from registry.complaints.messages import ComplaintInvalid, pick_language
from registry.complaints.models import SubjectKind
from registry.complaints.pii import PII_KEY_ENV, Contact, PiiVault, load_or_create_pii_key
from registry.settings import Settings

TODAY = date(2026, 11, 28)
VALID = ComplaintSubmission(
    vendor="yunpan",
    product="云盘",
    category="billing_refund",
    description="重复扣费",
    desired_remedy="退款",
    region="110000",
    occurred_on="2026-11-01",
    contact_name="李华",
    contact_phone="138 0013 8000",
)


def test_key_file_is_created_once_with_mode_0600(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """First start writes var/keys/pii.key (0600, directory 0700); later starts reuse it."""
    monkeypatch.delenv(PII_KEY_ENV, raising=False)
    monkeypatch.setenv("REGISTRY_DATA_DIR", str(tmp_path / "var"))
    settings = Settings.from_env()
    key = load_or_create_pii_key(settings)
    path = settings.keys_dir / "pii.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(settings.keys_dir.stat().st_mode) == 0o700
    assert load_or_create_pii_key(settings) == key
    assert len(key) == 32


def test_environment_key_wins_and_is_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """REGISTRY_PII_KEY (base64, 32 bytes) overrides the file; anything else stops the start."""
    monkeypatch.setenv("REGISTRY_DATA_DIR", str(tmp_path / "var"))
    secret = base64.b64encode(b"k" * 32).decode()
    monkeypatch.setenv(PII_KEY_ENV, secret)
    settings = Settings.from_env()
    assert settings.pii_key == secret
    assert secret not in repr(settings)
    assert load_or_create_pii_key(settings) == b"k" * 32
    assert not (settings.keys_dir / "pii.key").exists()
    monkeypatch.setenv(PII_KEY_ENV, base64.b64encode(b"short").decode())
    with pytest.raises(SystemExit, match="32 bytes"):
        load_or_create_pii_key(Settings.from_env())


@given(
    name=st.text(min_size=1, max_size=50),
    phone=st.none() | st.from_regex(r"\+?[0-9]{6,15}", fullmatch=True),
    email=st.none() | st.emails(),
)
def test_sealed_contact_opens_only_with_its_key(
    name: str, phone: str | None, email: str | None
) -> None:
    """Round trip; the sealed bytes never contain the plaintext; another key fails."""
    contact = Contact(name=name, phone=phone, email=email)
    sealed = PiiVault(b"a" * 32).seal(contact)
    assert PiiVault(b"a" * 32).open(sealed) == contact
    assert name.encode() not in sealed or len(name.encode()) < 4
    with pytest.raises(RuntimeError, match="does not open"):
        PiiVault(b"b" * 32).open(sealed)


def test_tampered_seal_is_refused() -> None:
    """Poly1305 authenticates the ciphertext: one flipped bit and it does not open."""
    sealed = bytearray(PiiVault(b"a" * 32).seal(Contact(name="王芳", phone="13911112222")))
    sealed[-1] ^= 1
    with pytest.raises(RuntimeError):
        PiiVault(b"a" * 32).open(bytes(sealed))


def test_fingerprints_are_keyed_and_separated_by_purpose() -> None:
    """Without the key a phone's fingerprint cannot be recomputed; purposes do not collide."""
    vault = PiiVault(b"a" * 32)
    phone = Contact(name="x", phone="+86 139-1111-2222").normalised()
    assert phone == "phone:8613911112222"
    assert vault.fingerprint("contact", phone) == vault.fingerprint("contact", phone)
    assert vault.fingerprint("contact", phone) != PiiVault(b"b" * 32).fingerprint("contact", phone)
    assert vault.fingerprint("contact", phone) != vault.fingerprint("ip", phone)


@pytest.mark.parametrize(
    ("query", "header", "expected"),
    [
        (None, None, "zh"),
        ("en", "zh-CN", "en"),
        ("fr", "en-GB,en;q=0.9", "en"),
        (None, "fr-FR, en;q=0.5, zh;q=0.8", "zh"),
        (None, "en;q=0, de", "zh"),
        (None, "en-US;q=bogus, zh-TW", "zh"),
    ],
)
def test_language_choice(query: str | None, header: str | None, expected: str) -> None:
    """?lang first, then Accept-Language by q-value (RFC 9110 §12.5.4), Chinese by default."""
    assert pick_language(query, header) == expected


def test_clean_submission_normalises_subjects() -> None:
    """A member vendor by slug, or an unregistered subject's normalised id."""
    filing = clean_submission(VALID, Settings(), TODAY)
    assert (filing.subject_kind, filing.subject_value) == (SubjectKind.VENDOR, "yunpan")
    assert filing.contact.phone == "138 0013 8000"
    domain = clean_submission(
        replace(VALID, vendor="", subject_kind="domain", subject_value="Shop.Example.CN."),
        Settings(),
        TODAY,
    )
    assert domain.subject_value == "shop.example.cn"


def test_every_bad_field_is_reported_at_once_in_both_languages() -> None:
    """One round trip fixes the whole form."""
    bad = replace(
        VALID,
        vendor="",
        subject_kind="credit_code",
        subject_value="91110108ABCDEFGHI0",
        description="x" * 4001,
        occurred_on="2026-12-01",
        contact_phone="",
        contact_email="not-an-email",
    )
    with pytest.raises(ComplaintInvalid) as caught:
        clean_submission(bad, Settings(), TODAY)
    zh, zh_fields = caught.value.localised("zh")
    en, en_fields = caught.value.localised("en")
    assert set(zh_fields) == {"subject_value", "description", "occurred_on", "contact_email"}
    assert zh_fields["description"] == "问题描述：最多 4000 个字符"
    assert (
        en_fields["occurred_on"]
        == "date of the problem: give a date no later than today (YYYY-MM-DD)"
    )
    assert zh != en
