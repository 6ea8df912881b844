"""Smoke test of the live-mode recalibration benchmark (no timing assertion: the figure
depends on the machine and its load)."""

from actors.benchmarks.recalibration import run


def test_quick_run_reports_positive_percentiles():
    figures = run(quick=True)
    assert figures["recalibration_p99_us"] > 0
    assert 0 < figures["recalibration_p50_us"] <= figures["recalibration_p99_us"]
