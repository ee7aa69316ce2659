"""RFC 8785 canonical JSON and strict parsing."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from attestations.canonical import CanonicalJSON, canonicalize, parse_json
from attestations.errors import CanonicalJSONError


def test_rfc8785_section_3_2_2_example() -> None:
    """The worked example of RFC 8785 section 3.2.2 (numbers, strings, literals)."""
    source = (
        b'{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
        b' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        b' "literals": [null, true, false]}'
    )
    expected = (
        '{"literals":[null,true,false],'
        '"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    ).encode()
    assert canonicalize(parse_json(source)) == expected


def test_rfc8785_section_3_2_3_sorting_example() -> None:
    """Members sort by UTF-16 code units, so the emoji sorts before U+FB33."""
    source = (
        b'{"\\u20ac": "Euro Sign", "\\r": "Carriage Return",'
        b' "\\ufb33": "Hebrew Letter Dalet With Dagesh", "1": "One",'
        b' "\\ud83d\\ude00": "Emoji: Grinning Face", "\\u0080": "Control",'
        b' "\\u00f6": "Latin Small Letter O With Diaeresis"}'
    )
    values = [
        "Carriage Return",
        "One",
        "Control",
        "Latin Small Letter O With Diaeresis",
        "Euro Sign",
        "Emoji: Grinning Face",
        "Hebrew Letter Dalet With Dagesh",
    ]
    keys = ["\\r", "1", "\u0080", "ö", "€", "😀", "\ufb33"]
    expected = "{" + ",".join(f'"{k}":"{v}"' for k, v in zip(keys, values, strict=True)) + "}"
    assert canonicalize(parse_json(source)) == expected.encode()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1e30, b"1e+30"),
        (1e21, b"1e+21"),
        (1e20, b"100000000000000000000"),
        (1e-7, b"1e-7"),
        (0.000001, b"0.000001"),
        (4.50, b"4.5"),
        (-0.0, b"0"),
        (10, b"10"),
        (2**53 - 1, b"9007199254740991"),
    ],
)
def test_rfc8785_number_forms(value: float, expected: bytes) -> None:
    """Numbers serialise as ECMAScript Number.prototype.toString (RFC 8785 section 3.2.2.3)."""
    assert canonicalize(value) == expected


def test_no_whitespace_and_utf8_output() -> None:
    """Non-ASCII text is emitted as UTF-8, not escaped (RFC 8785 section 3.2.2.2)."""
    assert canonicalize({"b": [1, 2], "a": "中文"}) == '{"a":"中文","b":[1,2]}'.encode()


def test_nested_objects_are_sorted() -> None:
    """Sorting applies at every depth."""
    assert canonicalize({"z": {"b": 1, "a": 2}, "a": []}) == b'{"a":[],"z":{"a":2,"b":1}}'


@pytest.mark.parametrize(
    "value",
    [float("nan"), float("inf"), 2**53 + 1, {1: "x"}, {"a": {1, 2}}, b"bytes"],
    ids=["nan", "infinity", "unsafe-integer", "non-string-key", "set", "bytes"],
)
def test_values_without_a_canonical_form_are_rejected(value: Any) -> None:
    """RFC 8785 covers I-JSON only: no NaN, no integers beyond 2**53, string keys."""
    with pytest.raises(CanonicalJSONError, match="cannot be canonicalised"):
        canonicalize(value)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{"a": 1, "a": 2}', "duplicate key 'a'"),
        (b'{"x": {"k": 1, "k": 1}}', "duplicate key 'k'"),
        (b"[NaN]", "NaN is not valid JSON"),
        (b"[Infinity]", "Infinity is not valid JSON"),
        (b"[-Infinity]", "-Infinity is not valid JSON"),
        (b"{", "not valid JSON"),
        (b'"\xff"', "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_parse_json_is_strict(data: bytes, reason: str) -> None:
    """Duplicate keys and non-finite numbers are ambiguous, so they are refused."""
    with pytest.raises(CanonicalJSONError) as excinfo:
        parse_json(data)
    assert reason in excinfo.value.reason


def test_parse_then_canonicalize_is_idempotent() -> None:
    """Canonical bytes parse back to a value with the same canonical bytes."""
    canonical = canonicalize(parse_json(b'{"b": [1.0, "x"], "a": {"d": null, "c": true}}'))
    assert canonicalize(parse_json(canonical)) == canonical
    assert canonical == b'{"a":{"c":true,"d":null},"b":[1,"x"]}'


_JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
_JSON_VALUES = st.recursive(
    _JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


def _splice_some(value: Any, draw_flags: list[bool]) -> Any:
    """The same document with some nested values replaced by their canonical bytes."""
    if not isinstance(value, dict):
        return value
    spliced = {}
    for name, item in value.items():
        if draw_flags and draw_flags.pop():
            spliced[name] = CanonicalJSON(canonicalize(item))
        else:
            spliced[name] = _splice_some(item, draw_flags)
    return spliced


@settings(max_examples=300, deadline=None)
@given(
    document=st.dictionaries(st.text(max_size=6), _JSON_VALUES, min_size=1, max_size=5),
    flags=st.lists(st.booleans(), max_size=12),
)
def test_spliced_canonical_values_give_the_same_bytes(
    document: dict[str, Any], flags: list[bool]
) -> None:
    """Embedding a value's canonical bytes is the same as canonicalising the value."""
    assert canonicalize(_splice_some(document, list(flags))) == canonicalize(document)


def test_spliced_members_sort_by_utf16_code_units() -> None:
    """RFC 8785 section 3.2.3: U+1F600 (surrogates D83D DE00) sorts before U+FB33."""
    document = {"\ufb33": 1, "\U0001f600": CanonicalJSON(b"[]"), "a": 2}
    assert canonicalize(document) == canonicalize({"\ufb33": 1, "\U0001f600": [], "a": 2})
    assert canonicalize(document).index("\U0001f600".encode()) < canonicalize(document).index(
        "\ufb33".encode()
    )


@pytest.mark.parametrize(
    "value",
    [
        "",
        "plain ascii",
        'quote " inside',
        "back\\slash",
        "tab\t",
        "汉字",
        0,
        -1,
        2**53 - 1,
        -(2**53) + 1,
        True,
        False,
        None,
        1.5,
    ],
)
def test_members_written_directly_match_rfc8785(value: Any) -> None:
    """Plain strings and exact integers beside a spliced value are written by hand; the
    bytes are the rfc8785 package's, and everything else still goes through it."""
    document = {
        "spliced": CanonicalJSON(b"{}"),
        "value": value,
        value if isinstance(value, str) else "k": 1,
    }
    expected = rfc8785.dumps(
        {"spliced": {}, "value": value, value if isinstance(value, str) else "k": 1}
    )
    assert canonicalize(document) == expected


_SIMPLE_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.text(max_size=12)
    | st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12),
    lambda inner: (
        st.dictionaries(st.text(max_size=6), inner, max_size=4)
        | st.dictionaries(st.text(st.characters(max_codepoint=0x7F), max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(document=st.dictionaries(st.text(max_size=6), _SIMPLE_VALUES, max_size=5))
def test_objects_written_directly_match_rfc8785(document: dict[str, Any]) -> None:
    """Objects of ASCII names and plain values are written without the rfc8785 package
    (log leaves of complaint decisions); the bytes are the package's, whatever the
    names and values, and whatever does not qualify still goes through it."""
    assert canonicalize(document) == rfc8785.dumps(document)
