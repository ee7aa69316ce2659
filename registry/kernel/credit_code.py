"""Unified social credit code (统一社会信用代码), GB 32100-2015.

18 characters from a 31-character alphabet (digits and capitals without I, O, Z, S, V):
registration authority, organisation category, 6-digit administrative division code,
9-character organisation code, and a check character. The check character is
C18 = 31 - (Σ Ci·Wi mod 31) with Wi = 3^(i-1) mod 31, a result of 31 written as 0.
"""

from __future__ import annotations

import re
from operator import mul
from typing import NoReturn

CODE_LENGTH = 18
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {char: value for value, char in enumerate(ALPHABET)}
_WEIGHTS = tuple(pow(3, i, 31) for i in range(CODE_LENGTH - 1))
_WELL_FORMED = re.compile(f"[{ALPHABET}]{{2}}[0-9]{{6}}[{ALPHABET}]{{10}}")
"""Length, alphabet and division code at once: the common case needs no loop (the bulk
blacklist check validates thousands per request)."""
_VALUES = bytes.maketrans(ALPHABET.encode("ascii"), bytes(range(len(ALPHABET))))
"""Each character of the alphabet as its value, for `bytes.translate`: the values of a
whole code in one C-level step."""


class CreditCodeError(ValueError):
    """Why a string is not a valid unified social credit code."""


def check_character(first17: str) -> str:
    """The GB 32100-2015 check character for the first 17 characters."""
    if len(first17) != CODE_LENGTH - 1:
        raise ValueError(f"the check character is computed over {CODE_LENGTH - 1} characters")
    total = sum(map(mul, map(_VALUE.__getitem__, first17), _WEIGHTS))
    return ALPHABET[(31 - total % 31) % 31]


def is_canonical(code: str) -> bool:
    """Whether `code` is a valid code exactly as written: upper case, nothing around it,
    the check character right. The bulk blacklist check asks this of thousands of codes a
    request, so it costs a regular expression and one sum; `normalise_credit_code` says
    what is wrong with a code that is not."""
    if _WELL_FORMED.fullmatch(code) is None:
        return False
    total = sum(map(mul, code[:17].encode("ascii").translate(_VALUES), _WEIGHTS))
    return code[17] == ALPHABET[-total % 31]


def normalise_credit_code(raw: str) -> str:
    """Return the code in canonical upper case, or raise CreditCodeError saying what is wrong."""
    code = raw.strip().upper()
    if _WELL_FORMED.fullmatch(code) is None:
        _explain_malformed(code)
    expected = check_character(code[:17])
    if code[17] != expected:
        raise CreditCodeError(
            f"check character is {code[17]!r} but GB 32100-2015 gives {expected!r}; "
            "the code has a typing error"
        )
    return code


def _explain_malformed(code: str) -> NoReturn:
    """Raise CreditCodeError saying what makes `code` malformed (length, a character, the
    division code)."""
    if len(code) != CODE_LENGTH:
        raise CreditCodeError(
            f"a unified social credit code has {CODE_LENGTH} characters, this one has {len(code)}"
        )
    for position, char in enumerate(code, start=1):
        if char not in _VALUE:
            raise CreditCodeError(
                f"character {position} ({char!r}) is not allowed; codes use digits and the "
                "capital letters other than I, O, Z, S and V"
            )
    raise CreditCodeError("characters 3 to 8 must be the 6-digit administrative division code")
