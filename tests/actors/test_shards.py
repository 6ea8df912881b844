"""Sharded runs on a real local Ray cluster (one per module): the run digest is the
in-process engine's for any shard count, and a killed shard is named with its
instruments while the other shards' trails stay complete."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import scenarios
from actors.cli import main
from actors.scenario_runner import run_scenario
from actors.shards import ShardedRun, ShardFailed, instrument_digests, run_digest, run_sharded
from actors.shards.cluster import connect, disconnect
from engine.audit.journal import Journal
from engine.scenario import load

ray = pytest.importorskip("ray", reason="the [ray] extra is not installed (.ci/run installs it)")

SEED = 7
REPO = Path(__file__).resolve().parents[2]
# four generated instruments, a quarter of an hour: shards of two instruments each
FOUR = """
name = "four"
seed = 3

[session]
open = "09:30"
close = "09:45"

[universe]
instruments = 4
seed = 5
median_daily_volume = 200000

[rebalance]
orders = 16
start = "09:31"
end = "09:38"
mandates_end = "09:43"

[[venues]]
name = "LIT1"

[[venues]]
name = "DARK1"
kind = "dark"
"""


@pytest.fixture(scope="module", autouse=True)
def cluster():
    connect(num_cpus=2)
    yield
    disconnect()


@pytest.fixture(scope="module")
def thin():
    return load(scenarios.locate("routing_thin"))


@pytest.fixture(scope="module")
def in_process(thin):
    result = run_scenario(thin, seed=SEED)
    try:
        return result.digest, run_digest(instrument_digests(result.journal.replay()))
    finally:
        result.journal.close()


@pytest.mark.parametrize("shards", [1, 2])
def test_sharded_run_has_the_in_process_digest(thin, in_process, shards, tmp_path):
    audit_digest, digest = in_process
    result = run_sharded(thin, shards, seed=SEED, trails=tmp_path / "thin")
    assert result.digest == digest
    assert [o.audit_digest for o in result.shards] == [audit_digest]  # one instrument
    assert result.client_orders == 20 and result.fills
    with Journal(result.shards[0].trail, readonly=True) as trail:
        assert trail.closed_cleanly and trail.digest() == audit_digest


def test_cli_prints_the_run_digest_last(in_process, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["run", "routing_thin", "--seed", str(SEED), "--shards", "2", "--quiet"]
    assert main([*args, "--report", "html"]) == 0
    captured = capsys.readouterr()
    out = captured.out.splitlines()
    assert "--report: not with --shards (ignored)" in captured.err
    assert out[-1] == f"run-digest: {in_process[1]}"
    assert (tmp_path / f"routing-thin.seed{SEED}.shard1of1.audit.sqlite").exists()
    assert (tmp_path / f"routing-thin.seed{SEED}.fills.csv").exists()


def test_cli_joins_a_running_cluster_by_address(in_process, tmp_path):
    """A second process joins this module's cluster (``--address``) instead of starting
    one, and leaves it running."""
    address = ray.get_runtime_context().gcs_address
    command = [sys.executable, "-m", "actors.cli", "run", "routing_thin", "--seed", str(SEED)]
    command += ["--shards", "1", "--address", address, "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == f"run-digest: {in_process[1]}"
    assert ray.is_initialized() and ray.cluster_resources().get("CPU") == 2


def test_cli_refuses_an_existing_shard_trail(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.shard1of1.audit.sqlite").write_text("not a trail")
    args = ["run", "routing_thin", "--shards", "1", "--quiet", "--audit", "t.audit.sqlite"]
    assert main(args) == 2
    assert "t.shard1of1.audit.sqlite already exists" in capsys.readouterr().err


@pytest.fixture(scope="module")
def four(tmp_path_factory):
    path = tmp_path_factory.mktemp("four") / "four.toml"
    path.write_text(FOUR)
    return load(path)


def digests_in_process(scenario) -> dict[str, str]:
    result = run_scenario(scenario, seed=SEED)
    try:
        return instrument_digests(result.journal.replay())
    finally:
        result.journal.close()


@pytest.fixture(scope="module")
def four_in_process(four):
    return digests_in_process(four)


def test_each_shard_is_the_engine_of_its_instruments(four, tmp_path):
    result = run_sharded(four, 2, seed=SEED, trails=tmp_path / "four")
    assert [o.symbols for o in result.shards] == [["U003", "U004"], ["U001", "U002"]]
    for shard in result.shards:
        assert shard.instruments == digests_in_process(four.restricted_to(shard.symbols))
    assert sorted(result.instruments) == ["U001", "U002", "U003", "U004"]
    assert result.client_orders == len(four.client_orders())
    assert {r.instrument for r in result.fills} == set(result.instruments)


def test_cli_json_rolls_up_every_shard(four, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "four.toml").write_text(FOUR)
    assert main(["run", "four.toml", "--seed", str(SEED), "--shards", "2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [s["symbols"] for s in data["shards"]] == [["U003", "U004"], ["U001", "U002"]]
    total, by_instrument = data["tca"]["total"], data["tca"]["instruments"]
    # each engine numbers its parents from P1: the roll-up still counts every parent once
    assert total["parents"] == data["parents"] == sum(b["parents"] for b in by_instrument)
    assert [b["key"] for b in by_instrument] == ["U001", "U002", "U003", "U004"]
    assert data["run_digest"] and data["instruments"] == 4


def test_one_shard_is_the_in_process_engine(four, four_in_process, tmp_path):
    result = run_sharded(four, 1, seed=SEED, trails=tmp_path / "four")
    assert result.instruments == four_in_process
    assert result.digest == run_digest(four_in_process)


def test_two_shards_give_the_in_process_digest(four, four_in_process, tmp_path):
    result = run_sharded(four, 2, seed=SEED, trails=tmp_path / "four")
    assert result.instruments == four_in_process


def test_killed_shard_is_named_and_the_other_trail_is_complete(four, tmp_path):
    run = ShardedRun(four, 2, seed=SEED, trails=tmp_path / "four")
    run.start()
    ray.kill(run.actors[1])
    with pytest.raises(ShardFailed, match=r"instruments not run to the end: U001, U002;") as e:
        run.result()
    assert list(e.value.failed) == [1]
    assert "shard 2 (U001, U002) failed: " in str(e.value)
    [survivor] = e.value.finished
    assert survivor.symbols == ["U003", "U004"] and survivor.trail in str(e.value)
    with Journal(survivor.trail, readonly=True) as trail:
        assert trail.closed_cleanly and trail.digest() == survivor.audit_digest
        assert instrument_digests(trail.replay()) == survivor.instruments
    assert set(survivor.instruments) == {"U003", "U004"}


def test_a_local_cluster_runs_the_shards_at_the_callers_priority():
    """Ray's default worker niceness (15) would make a shard's engine yield the core to
    any other process, which an in-process run does not."""
    niceness = ray.remote(lambda: os.nice(0)).remote()
    assert ray.get(niceness) == os.nice(0)
