"""The end-to-end run benchmark times a real ``smart-exec run`` (no timing assertion: the
figure depends on the machine and its load), is registered with ``smart-exec bench``,
and is left out of ``--quick``."""

import pytest

from actors.benchmarks import brief_run
from actors.cli.bench import BENCHMARKS
from tests.actors.test_scenarios import SMALL


def test_it_times_a_whole_run_of_the_scenario(tmp_path):
    scenario = tmp_path / "small.toml"
    scenario.write_text(SMALL)
    wall, cpu = brief_run.run_seconds(scenario)
    assert wall > 0 and cpu > 0


def test_a_run_that_fails_is_an_error_not_a_figure(tmp_path):
    with pytest.raises(RuntimeError, match=r"nope\.toml failed"):
        brief_run.run_seconds(tmp_path / "nope.toml")


def test_registered_and_skipped_when_quick():
    assert BENCHMARKS["brief_run"] == "actors.benchmarks.brief_run"
    assert brief_run.run(quick=True) == {}
