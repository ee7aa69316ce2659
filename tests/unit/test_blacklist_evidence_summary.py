"""The public evidence summary keeps a bundle's counts, categories, criteria and window,
and nothing that names a complaint or a complainant."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from registry.blacklist.public_reads import evidence_summary

TRACKING = st.from_regex(r"TR-[A-Z0-9]{8}", fullmatch=True)
CATEGORIES = st.sampled_from(["billing_refund", "personal_information_leak", "other"])


@given(
    complaints=st.lists(st.tuples(TRACKING, CATEGORIES, st.integers(1, 9)), max_size=12),
    audits=st.lists(st.integers(1, 999), max_size=3),
)
def test_the_summary_counts_and_names_no_complaint(
    complaints: list[tuple[str, str, int]], audits: list[int]
) -> None:
    bundle = {
        "window": {"from": "2026-08-05T00:00:00Z", "until": "2026-11-03T00:00:00Z"},
        "counts": {"substantiated": len(complaints), "ratio": 0.5, "flag": True},
        "items": [
            {"type": "complaint", "ref": code, "category": category, "complainant": f"c{n}"}
            for code, category, n in complaints
        ]
        + [
            {"type": "audit", "ref": f"audit:{a}", "criterion": "information-security"}
            for a in audits
        ],
    }
    summary = evidence_summary(bundle)
    shown = repr(summary)
    for code, _category, n in complaints:
        assert code not in shown
        assert f"'c{n}'" not in shown
    assert dict(summary.items) == {
        kind: count
        for kind, count in (("audit", len(audits)), ("complaint", len(complaints)))
        if count
    }
    assert sum(count for _, count in summary.categories) == len(complaints)
    assert dict(summary.counts) == {"substantiated": len(complaints), "ratio": 0.5}
    assert summary.criteria == (("information-security",) if audits else ())
    assert summary.window_from == datetime(2026, 8, 5, tzinfo=UTC)


def test_a_bundle_without_a_window_or_items_summarises_to_nothing() -> None:
    summary = evidence_summary({})
    assert (summary.window_from, summary.window_until) == (None, None)
    assert summary.counts == summary.items == summary.categories == summary.criteria == ()
