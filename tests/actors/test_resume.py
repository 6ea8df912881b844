"""Process recovery: a run killed (``kill -9``) or interrupted (Ctrl-C, SIGTERM) at any
point is resumed from its trail, and ends with the trail, and so the digest, of a run
that was never stopped; every report delivered before the kill is in the trail.

The scenario is small (90 reports, a venue outage and a router crash, whose recovery
reads the trail during the replay too) so that ten kills and resumes stay quick. The
kill points are counted in reports printed (``--trace-reports``), not in time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from actors.cli import main
from actors.cli.run import SCENARIO_RUN, ScenarioRun
from actors.scenario_runner import run_scenario
from engine.audit.journal import Journal
from engine.scenario import loads

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_S = 60
REPORT_TYPES = ["ExecutionReport", "ClientOrderRejected"]

SCENARIO = """
name = "kill-resume"
seed = 5
run_until = "09:50"
[session]
date = "2026-11-23"
open = "09:30"
close = "10:00"
[instrument]
symbol = "XYZ"
ref_price = "100.00"
lot = 100
[mandate]
strategy = "TWAP"
end = "09:45"
[[venues]]
name = "LIT1"
[[venues]]
name = "LIT2"
latency_us = 300
jitter_us = 200
[[streams]]
id_prefix = "K"
side = "buy"
count = 30
total_quantity = 6000
start = "09:31"
end = "09:40"
[[faults]]
venue = "LIT2"
fault = "down"
at = "09:36"
duration_s = 60
[[crashes]]
actor = "router"
at = "09:38"
"""

KILL_AFTER_REPORTS = (1, 3, 6, 10, 20, 30, 40, 50, 60, 75)  # of 90


def cli(*args: object, **popen) -> subprocess.Popen:
    """``smart-exec`` in a child process, on this tree's code."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "actors.cli", *map(str, args)],
        env=env,
        stdin=subprocess.DEVNULL,
        text=True,
        **popen,
    )


def finished(*args: object) -> tuple[int, str]:
    """Run ``smart-exec`` to its end: (status, stdout)."""
    proc = cli(*args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=TIMEOUT_S)
    assert "Traceback" not in err, err
    return proc.returncode, out


def digest_line(out: str) -> str:
    [line] = [x for x in out.splitlines() if x.startswith("audit-digest: ")]
    return line.removeprefix("audit-digest: ")


def reports_printed(out: str) -> list[int]:
    """The message ids of the reports ``--trace-reports`` printed."""
    return [int(line.split()[1]) for line in out.splitlines() if line.startswith("report ")]


def stopped_after(proc: subprocess.Popen, reports: int, stop: signal.Signals) -> str:
    """Send ``stop`` to ``proc`` once it has printed ``reports`` reports; everything it
    printed (what it printed before the signal took it included)."""
    watchdog = threading.Timer(TIMEOUT_S, proc.kill)  # never hang the suite
    watchdog.start()
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if len(reports_printed("".join(lines))) >= reports:
                break
        proc.send_signal(stop)
        lines.append(proc.stdout.read())
        proc.wait()
    finally:
        watchdog.cancel()
    return "".join(lines)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("resume") / "kill.toml"
    path.write_text(SCENARIO)
    return path


@pytest.fixture(scope="module")
def uninterrupted(scenario) -> tuple[str, int, int]:
    """The run never stopped: (digest, records, reports)."""
    trail = scenario.with_name("full.sqlite")
    status, out = finished("run", scenario, "--quiet", "--no-baseline", "--audit", trail)
    assert status == 0
    with Journal(str(trail), readonly=True) as journal:
        assert journal.digest() == digest_line(out)
        return digest_line(out), len(journal), len(list(journal.query(types=REPORT_TYPES)))


def test_a_run_killed_at_ten_points_resumes_to_the_uninterrupted_digest(
    scenario, uninterrupted, tmp_path
):
    digest, records, reports = uninterrupted
    assert reports == 90
    kept = set()
    for n in KILL_AFTER_REPORTS:
        trail = tmp_path / f"killed-{n}.sqlite"
        run = ("run", scenario, "--quiet", "--no-baseline", "--trace-reports", "--audit", trail)
        proc = cli(*run, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        delivered = reports_printed(stopped_after(proc, n, signal.SIGKILL))
        assert proc.returncode == -signal.SIGKILL and len(delivered) >= n
        with Journal(str(trail), readonly=True) as journal:
            assert not journal.closed_cleanly and len(journal) < records
            kept.add(len(journal))
            in_trail = {r.message.msg_id for r in journal.query(types=REPORT_TYPES)}
        assert set(delivered) <= in_trail, f"killed after {n}: a delivered report is lost"
        status, out = finished("resume", trail, "--quiet", "--no-baseline")
        assert status == 0 and digest_line(out) == digest, f"killed after {n} reports"
        with Journal(str(trail), readonly=True) as journal:
            assert journal.closed_cleanly and len(journal) == records
            assert journal.digest() == digest
    assert len(kept) == len(KILL_AFTER_REPORTS)  # ten different points of the trail


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_leaves_the_trail_interrupted_and_resumable(
    scenario, uninterrupted, tmp_path, stop
):
    trail = tmp_path / "stopped.sqlite"
    run = ("run", scenario, "--quiet", "--no-baseline", "--trace-reports", "--audit", trail)
    proc = cli(*run, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    delivered = reports_printed(stopped_after(proc, 5, stop))
    assert proc.returncode == 128 + stop
    with Journal(str(trail), readonly=True) as journal:
        assert not journal.closed_cleanly  # interrupted, not complete
        assert journal.run_info(SCENARIO_RUN, ScenarioRun).seed == 5
        assert set(delivered) <= {r.message.msg_id for r in journal.query(types=REPORT_TYPES)}
    status, out = finished("resume", trail, "--quiet", "--no-baseline")
    assert status == 0 and digest_line(out) == uninterrupted[0]


def interrupted_trail(path: Path, steps: int) -> Journal:
    """A trail of the scenario stopped after ``steps`` steps of simulated time, written
    as ``smart-exec run`` writes one (its scenario kept; closed as interrupted)."""
    scenario = loads(SCENARIO)
    journal = Journal(str(path))
    journal.set_run_info(SCENARIO_RUN, ScenarioRun(scenario=scenario, seed=5))
    asked = iter(range(steps + 1))
    result = run_scenario(scenario, audit=journal, stop=lambda: next(asked) >= steps)
    assert result.interrupted
    journal.close(complete=False)
    return journal


def test_a_replay_that_differs_names_the_first_seq_and_leaves_the_trail(tmp_path, capsys):
    """The trail says the outage began at 09:36; the scenario it keeps now says 09:37."""
    trail = tmp_path / "t.sqlite"
    interrupted_trail(trail, steps=2)
    other = loads(SCENARIO.replace('at = "09:36"', 'at = "09:37"'))
    replayed = run_scenario(other, seed=5).journal
    with Journal(str(trail)) as journal:
        held, digest = len(journal), journal.digest()
        first = next(
            r.seq
            for r, o in zip(journal.query(), replayed.query(), strict=False)
            if r.message != o.message
        )
        journal.set_run_info(SCENARIO_RUN, ScenarioRun(scenario=other, seed=5))
        journal.close(complete=False)
    assert 1 < first <= held
    assert main(["resume", str(trail), "--quiet", "--no-baseline"]) == 2
    err = capsys.readouterr().err
    assert f"the replay differs at seq {first}: " in err and "Traceback" not in err
    with Journal(str(trail), readonly=True) as journal:
        assert (len(journal), journal.digest(), journal.closed_cleanly) == (held, digest, False)


def test_an_engine_built_otherwise_than_the_trail_says_is_refused(tmp_path, capsys):
    trail = tmp_path / "t.sqlite"
    interrupted_trail(trail, steps=1)
    with Journal(str(trail)) as journal:
        journal.set_run_info(SCENARIO_RUN, ScenarioRun(scenario=loads(SCENARIO), seed=6))
        journal.close(complete=False)
    assert main(["resume", str(trail), "--quiet", "--no-baseline"]) == 2
    assert "the replay differs: its 'engine' is not the trail's" in capsys.readouterr().err


def test_a_complete_or_foreign_trail_is_not_resumed(tmp_path, capsys):
    complete = tmp_path / "complete.sqlite"
    run_scenario(loads(SCENARIO), audit=complete).journal.close()
    assert main(["resume", str(complete)]) == 2
    assert "is complete, there is nothing to resume" in capsys.readouterr().err
    foreign = tmp_path / "foreign.sqlite"  # an engine's, not smart-exec run's
    journal = Journal(str(foreign))
    run_scenario(loads(SCENARIO), audit=journal, stop=lambda: True)
    journal.close(complete=False)
    assert main(["resume", str(foreign)]) == 2
    assert "does not keep the scenario it ran" in capsys.readouterr().err
    assert main(["resume", str(tmp_path / "missing.sqlite")]) == 2
    assert "no audit trail at" in capsys.readouterr().err
    assert not (tmp_path / "missing.sqlite").exists()
