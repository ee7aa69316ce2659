"""A bench never reports a target met when requests failed (bench/harness.py)."""

from __future__ import annotations

import pytest

from bench.harness import Outcome, report, run, summary


def test_a_phase_with_failures_is_missed_whatever_its_figure() -> None:
    """A fast phase with failed requests reads MISSED, and the exit status is 1."""
    fast_but_failing = Outcome("batch", "841% of raw verify", target_met=True, failures=64)
    assert not fast_but_failing.met
    assert fast_but_failing.verdict() == "MISSED (64 failed)"
    met = Outcome("single", "900/s (target >= 800/s)", target_met=True)
    assert summary([met, fast_but_failing]) == "summary: single MET ; batch MISSED (64 failed)"
    assert report([met, fast_but_failing]) == 1


def test_only_every_phase_met_without_failures_exits_zero(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Slow phases miss; all met is the only success; nothing measured is a miss too."""
    slow = Outcome("single", "500/s (target >= 800/s)", target_met=False)
    assert summary([slow]) == "summary: single MISSED"
    assert report([Outcome("single", "900/s", target_met=True)]) == 0
    assert report([]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == "summary: MISSED (nothing was measured)"


def test_a_bench_that_stops_on_an_error_says_missed(capsys: pytest.CaptureFixture[str]) -> None:
    """An exception on the way (a refused setup, a wrong proof) exits 1 and says MISSED."""

    def broken() -> list[Outcome]:
        raise AssertionError("stored root differs")

    with pytest.raises(SystemExit) as stopped:
        run(broken)
    assert stopped.value.code == 1
    assert capsys.readouterr().out.splitlines()[-1].startswith("summary: MISSED")
