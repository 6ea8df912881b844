"""Durable before acknowledged: a report reaches a client only once its record is
committed, so a process killed at any point has every report it delivered in its trail,
and that trail opens verified, replays, and is the uninterrupted run's up to its end.

The child process runs an embedded engine on a shipped scenario and prints the id of
each report as its subscriber gets it, flushed, to a pipe; the parent kills it with
SIGKILL once it has read a given number of them (kill points by report count, not time).
"""

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from actors.scenario_runner import run_scenario
from engine import messages as m
from engine.audit.journal import Journal
from engine.scenario import load

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "parallel_sweep.toml"
SEED = 7
KILL_AFTER = (1, 40, 700, 3500)  # reports read before the kill

CHILD = """
import sys
from actors.api import Engine, MarketConfig
from engine.parent.order import ParentConfig
from engine.scenario import load

scenario = load(sys.argv[1])
seed = int(sys.argv[3])
instrument, session, venues = scenario.market()
engine = Engine(
    MarketConfig(instrument=instrument, venues=venues, session=session),
    seed=seed,
    audit=sys.argv[2],
    router=scenario.router,
    desk=scenario.desk,
    parent=ParentConfig(vwap_profile=scenario.profile(seed)),
)
out = sys.stdout


def delivered(report):
    out.write(f"{report.msg_id}\\n")
    out.flush()


engine.on_report(delivered)
for at, order in scenario.client_orders():
    engine.submit(order, at_ns=at)
engine.run_until(scenario.end_ns())
engine.close()
out.write("done\\n")
"""


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The run's whole trail, uninterrupted (the same engine, seed and orders)."""
    path = tmp_path_factory.mktemp("whole") / "whole.sqlite"
    result = run_scenario(load(SCENARIO), seed=SEED, audit=path)
    records = list(result.journal.replay())
    result.journal.close()
    return records


def _run_and_kill(trail: Path, log: Path, after: int) -> list[int]:
    """Start the child, kill it once ``after`` reports were read; every report id it
    printed (those written before the kill are still in the pipe)."""
    with open(log, "w") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(SCENARIO), str(trail), str(SEED)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        assert child.stdout is not None
        ids: list[int] = []
        while len(ids) < after:
            line = child.stdout.readline()
            assert line and line != "done\n", f"child ended early: {log.read_text()[-2000:]}"
            ids.append(int(line))
        child.send_signal(signal.SIGKILL)
        child.wait()
        rest = child.stdout.read().split()
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    assert "done" not in rest, "the kill came after the run ended: pick an earlier point"
    return ids + [int(i) for i in rest]


@pytest.mark.parametrize("after", KILL_AFTER)
def test_every_report_delivered_before_a_kill_is_in_the_trail(tmp_path, uninterrupted, after):
    trail = tmp_path / "killed.sqlite"
    delivered = _run_and_kill(trail, tmp_path / "child.log", after)
    with Journal(str(trail), readonly=True) as journal:  # verified on open
        assert not journal.closed_cleanly  # interrupted: its writer never closed it
        records = list(journal.replay())
        digest = journal.digest()
    reports = {
        msg.msg_id for msg in records if type(msg) in (m.ExecutionReport, m.ClientOrderRejected)
    }
    missing = [i for i in delivered if i not in reports]
    assert not missing, f"{len(missing)} of {len(delivered)} delivered reports not in the trail"
    assert len(delivered) >= after
    # Up to its last commit the trail is the uninterrupted run's, record for record.
    assert 0 < len(records) < len(uninterrupted)
    assert records == uninterrupted[: len(records)]
    assert len(digest) == 64
    reopened = Journal(str(trail))  # a writer opening it builds the missing indexes
    assert reopened.indexed and len(reopened) == len(records)
    reopened.close()


def test_the_child_delivers_as_many_reports_as_the_uninterrupted_run(tmp_path, uninterrupted):
    """The kill points are within the run: the run delivers more reports than the last."""
    reports = [r for r in uninterrupted if type(r) in (m.ExecutionReport, m.ClientOrderRejected)]
    assert len(reports) > max(KILL_AFTER) * 2
    assert os.path.isfile(SCENARIO)


def test_a_subscriber_finds_each_report_committed_by_another_connection(tmp_path):
    """In process: when a report reaches a subscriber, a reader of the file (another
    SQLite connection, which sees only committed transactions) already finds it."""
    from actors.api import Engine, MarketConfig
    from engine.scenario import loads
    from tests.actors.test_scenarios import SMALL

    scenario = loads(SMALL)
    instrument, session, venues = scenario.market()
    path = str(tmp_path / "run.sqlite")
    engine = Engine(MarketConfig(instrument=instrument, venues=venues, session=session), audit=path)
    reader = sqlite3.connect(path)
    found = []

    def subscriber(report):
        rows = reader.execute(
            "SELECT payload FROM journal WHERE type = ? AND client_order_id = ?",
            (type(report).__name__, report.client_order_id),
        )
        found.append(any(m.decode(p).msg_id == report.msg_id for (p,) in rows))

    engine.on_report(subscriber)
    for at, order in scenario.client_orders():
        engine.submit(order, at_ns=at)
    engine.run_until(scenario.end_ns())
    engine.close()
    reader.close()
    assert len(found) >= 3 and all(found)


def test_a_live_engines_subscriber_finds_each_report_committed(tmp_path):
    """The same on the wall clock: the SMALL session is over, so each order is rejected,
    and each reject reaches the subscriber (on the desk's thread) already committed."""
    import threading

    from actors.api import Engine, MarketConfig
    from engine.scenario import loads
    from tests.actors.test_scenarios import SMALL

    scenario = loads(SMALL)
    instrument, session, venues = scenario.market()
    path = str(tmp_path / "live.sqlite")
    market = MarketConfig(instrument=instrument, venues=venues, session=session)
    engine = Engine(market, audit=path, live=True)
    reader = sqlite3.connect(path, check_same_thread=False)
    found = []
    every = threading.Event()

    def subscriber(report):
        rows = reader.execute(
            "SELECT payload FROM journal WHERE client_order_id = ?", (report.client_order_id,)
        )
        found.append(any(m.decode(p).msg_id == report.msg_id for (p,) in rows))
        if len(found) == 3:
            every.set()

    engine.on_report(subscriber)
    (_, order), *_ = scenario.client_orders()
    try:
        for i in range(3):
            engine.submit(msgspec.structs.replace(order, client_order_id=f"c{i}"))
        assert every.wait(10)
    finally:
        engine.close()
        reader.close()
    assert found == [True] * 3 and engine.subscriber_errors == 0
