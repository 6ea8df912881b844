"""Sharded runs on a real local Ray cluster (one per module): the run digest is the
in-process engine's for any shard count, and a killed shard is named with its
instruments while the other shards' trails stay complete."""

import pytest

import scenarios
from actors.cli import main
from actors.scenario_runner import run_scenario
from actors.shards import instrument_digests, run_digest, run_sharded
from actors.shards.cluster import connect, disconnect
from engine.audit.journal import Journal
from engine.scenario import load

ray = pytest.importorskip("ray", reason="the [ray] extra is not installed (.ci/run installs it)")

SEED = 7


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
    assert main(["run", "routing_thin", "--seed", str(SEED), "--shards", "2", "--quiet"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == f"run-digest: {in_process[1]}"
    assert (tmp_path / f"routing-thin.seed{SEED}.shard1of1.audit.sqlite").exists()
    assert (tmp_path / f"routing-thin.seed{SEED}.fills.csv").exists()


def test_cli_refuses_an_existing_shard_trail(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.shard1of1.audit.sqlite").write_text("not a trail")
    args = ["run", "routing_thin", "--shards", "1", "--quiet", "--audit", "t.audit.sqlite"]
    assert main(args) == 2
    assert "t.shard1of1.audit.sqlite already exists" in capsys.readouterr().err
