"""GB 32100-2015 unified social credit codes."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.kernel.credit_code import (
    ALPHABET,
    CreditCodeError,
    check_character,
    normalise_credit_code,
)

# Published codes of real companies (business licences), used as known answers.
KNOWN_VALID = ["91350100M000100Y43", "914403001922038216", "91110108551385082Q"]


@pytest.mark.parametrize("code", KNOWN_VALID)
def test_published_codes_are_valid(code: str) -> None:
    """Real codes pass unchanged."""
    assert normalise_credit_code(code) == code


def test_lower_case_and_spaces_are_normalised() -> None:
    """Input is trimmed and upper-cased before checking."""
    assert normalise_credit_code(" 91110108551385082q ") == "91110108551385082Q"


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("91350100M000100Y4", "18 characters"),
        ("91350100M000100Y433", "18 characters"),
        ("91350100M000I00Y43", "not allowed"),
        ("913501O0M000100Y43", "not allowed"),
        ("9135A100M000100Y43", "administrative division"),
        ("91350100M000100Y44", "check character"),
    ],
)
def test_invalid_codes_say_why(code: str, reason: str) -> None:
    """Each kind of mistake has its own message."""
    with pytest.raises(CreditCodeError, match=reason):
        normalise_credit_code(code)


@given(st.randoms(use_true_random=False))
def test_any_single_character_typo_is_caught(rng: random.Random) -> None:
    """Changing one character of a valid code always breaks the check (mod 31, prime weights)."""
    first17 = (
        "91"
        + "".join(rng.choice("0123456789") for _ in range(6))
        + "".join(rng.choice(ALPHABET) for _ in range(9))
    )
    code = first17 + check_character(first17)
    assert normalise_credit_code(code) == code
    position = rng.randrange(17)
    replacement = rng.choice([c for c in ALPHABET if c != code[position]])
    typo = code[:position] + replacement + code[position + 1 :]
    if typo[2:8].isdigit():
        with pytest.raises(CreditCodeError, match="check character"):
            normalise_credit_code(typo)
