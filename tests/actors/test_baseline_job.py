"""The baseline in a worker process (``actors.baseline_job``): the same figures as the
in-process run, errors raised where the result is asked for, and no worker left behind."""

import pytest

from actors import baseline_job
from actors.baseline_job import BaselineJob
from actors.scenario_runner import run_baseline
from engine.scenario import loads
from tests.actors.test_scenarios import SMALL

SCENARIO = loads(SMALL)
SEED = 5

needs_fork = pytest.mark.skipif(
    not baseline_job.can_fork_worker(), reason="no fork, one core, or other threads running"
)


def _figures(baseline):
    return (
        baseline.orders,
        baseline.fees,
        baseline.market.mid_points(),
        baseline.counterfactual.mid_points(),
    )


@needs_fork
def test_the_worker_gives_the_baseline_the_process_itself_would():
    with BaselineJob.start(SCENARIO, SEED) as job:
        assert job.in_worker
        got = job.result()
    assert _figures(got) == _figures(run_baseline(SCENARIO, seed=SEED))
    assert got.cost() == run_baseline(SCENARIO, seed=SEED).cost()


def test_without_a_worker_the_baseline_runs_when_asked(monkeypatch):
    monkeypatch.setattr(baseline_job, "can_fork_worker", lambda: False)
    job = BaselineJob.start(SCENARIO, SEED)
    assert not job.in_worker
    assert _figures(job.result()) == _figures(run_baseline(SCENARIO, seed=SEED))


@needs_fork
def test_an_error_in_the_worker_is_raised_where_the_result_is_asked_for(monkeypatch):
    def fails(scenario, seed):
        raise ValueError(f"no market for {scenario.name} seed {seed}")

    monkeypatch.setattr(baseline_job, "run_baseline", fails)  # the fork inherits it
    with BaselineJob.start(SCENARIO, SEED) as job:
        assert job.in_worker
        with pytest.raises(ValueError, match="no market for small seed 5"):
            job.result()


@needs_fork
def test_leaving_the_block_stops_a_worker_still_running():
    with BaselineJob.start(SCENARIO, SEED) as job:
        process = job._process
        assert process is not None and process.is_alive()
    assert job._process is None
    assert not process.is_alive()
