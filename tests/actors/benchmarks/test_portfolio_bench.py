"""The portfolio benchmark: registered with ``smart-exec bench``, left out of ``--quick``,
and its in-process measurement gives the figures it reports (no timing assertion: they
depend on the machine and its load). The sharded path is ``tests/actors/test_shards.py``'s."""

import pytest

from actors.benchmarks import portfolio
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
