"""The portfolio benchmark: registered with ``smart-exec bench``, left out of ``--quick``,
and its in-process measurement gives the figures it reports (no timing assertion: they
depend on the machine and its load). The sharded path is ``tests/actors/test_shards.py``'s."""

import json

import pytest

from actors.benchmarks import portfolio, portfolio_pairs
from actors.cli.bench import BENCHMARKS


def test_registered_and_skipped_when_quick():
    assert BENCHMARKS["portfolio"] == "actors.benchmarks.portfolio"
    assert portfolio.run(quick=True) == {}


def test_one_process_run_reports_wall_memory_and_instruments():
    figures = portfolio.measure("routing_thin", shards=0, seed=7)
    assert figures["instruments"] == 1
    assert figures["wall_s"] > 0
    assert 10 < figures["peak_rss_mb"] < 4096


def test_a_run_that_fails_is_an_error_not_a_figure():
    with pytest.raises(RuntimeError, match="no_such_scenario on 0 shard"):
        portfolio.measure("no_such_scenario", shards=0)


def test_interleaved_pairs_print_each_run_and_a_summary_of_speed_ups():
    """One real pair on a small scenario (the shards' path: a local Ray cluster in the
    child process), so every figure the bench reports for two shards is there."""
    pytest.importorskip("ray", reason="the [ray] extra is not installed (.ci/run installs it)")
    lines: list[str] = []
    ratios = portfolio_pairs.speedups(1, out=lines.append, scenario="routing_thin")
    runs = [json.loads(line) for line in lines]
    assert [r["shards"] for r in runs] == [0, 2]
    one, two = runs
    assert ratios == [one["wall_s"] / two["wall_s"]]
    assert 0 < two["slowest_shard_cpu_s"] <= two["slowest_shard_s"] * 1.05 + 0.05
    assert two["cluster_start_s"] > 0 and two["transfer_s"] >= 0


def test_summary_of_speed_ups_has_the_median_its_interval_and_the_misses():
    got = portfolio_pairs.summary([1.6, 1.8, 1.9, 1.75, 2.0])
    assert got["median"] == 1.8 and got["mean"] == 1.81 and got["below_target"] == 1
    low, high = got["median_95"]
    assert 1.6 <= low <= 1.8 <= high <= 2.0
    assert portfolio_pairs.summary([1.6, 1.8, 1.9, 1.75, 2.0]) == got  # same resamples
