"""``smart-exec serve`` in a child process, driven by QuickFIX: the ``listening on`` line,
a graceful SIGTERM (every session logged out), and a restart after ``kill -9`` that resumes
the sequence numbers with new, still unique ExecIDs."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from qfclient import DONE, Initiator, check_invariants

from actors.cli import main
from engine.clock import SECOND
from engine.fix.times import utc_timestamp

pytest.importorskip("quickfix")

REPO = Path(__file__).resolve().parents[3]
WAIT_S = 30
SESSIONS_TOML = """
store_dir = "{store}"

[[sessions]]
sender_comp_id = "OMS1"
target_comp_id = "SMARTEXEC"
password = "change-me"
heartbeat_s = 30
role = "order-entry"
[sessions.tags]
urgency = 7001
"""


def serve(tmp_path: Path, port: int = 0, *extra: object) -> tuple[subprocess.Popen[str], int]:
    sessions = tmp_path / "SESSIONS.toml"
    sessions.write_text(SESSIONS_TOML.format(store=tmp_path / "store"))
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    args = ["serve", "--fix-port", port, "--sessions", sessions, "--session-hours", "1", *extra]
    proc = subprocess.Popen(
        [sys.executable, "-m", "actors.cli", *map(str, args)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()))  # type: ignore[union-attr]
    reader.start()
    reader.join(WAIT_S)
    if not line or not line[0].startswith("listening on 127.0.0.1:"):
        proc.kill()
        proc.wait(WAIT_S)
        pytest.fail(f"serve did not start: {line!r} {proc.stderr.read()!r}")  # type: ignore[union-attr]
    return proc, int(line[0].rsplit(":", 1)[1])


@pytest.fixture
def stoppable():
    """Processes and initiators the test started, stopped whatever happens."""
    procs: list[subprocess.Popen[str]] = []
    clients: list[Initiator] = []
    yield procs, clients
    for client in clients:
        client.stop()
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(WAIT_S)
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()


def order(app, cl: str) -> dict[int, str]:
    now = utc_timestamp(time.time_ns())
    limit = [(40, 2), (44, "95.00")]  # under the market: working, never filled
    app.send((11, cl), (55, "XYZ"), (54, 1), (60, now), (38, 100), *limit, msg_type="D")
    return app.next_app(WAIT_S)


def test_sigterm_logs_every_session_out_and_exits_cleanly(tmp_path, stoppable):
    procs, clients = stoppable
    proc, port = serve(tmp_path)
    procs.append(proc)
    client = Initiator(port, tmp_path / "client", "change-me")
    clients.append(client)
    assert client.app.logged_on.wait(WAIT_S)
    proc.send_signal(signal.SIGTERM)
    assert client.app.logged_out.wait(WAIT_S)
    assert proc.wait(WAIT_S) == 0
    assert "stopped (SIGTERM)" in proc.stderr.read()  # type: ignore[union-attr]
    logouts = [m for m in drain(client.app.admin) if m[35] == "5"]
    assert logouts[0][58] == "the gateway is shutting down"


def drain(q) -> list[dict[int, str]]:
    got = []
    while not q.empty():
        got.append(q.get_nowait())
    return got


def reports_until_done(app, cl: str) -> list[dict[int, str]]:
    return [m for m in app.until(lambda m: m[11] == cl and m[39] in DONE) if m[11] == cl]


def test_after_kill_9_orders_go_on_with_their_numbers_ids_and_quantities(tmp_path, stoppable):
    procs, clients = stoppable
    post_trade = ("--allocations-csv", tmp_path / "allocations.csv")
    proc, port = serve(tmp_path, 0, *post_trade)
    procs.append(proc)
    client = Initiator(port, tmp_path / "client", "change-me", reset=False)
    clients.append(client)
    app = client.app
    assert app.logged_on.wait(WAIT_S)
    resting = order(app, "resting")  # under the market: working when the process dies
    assert resting[150] == "0" and resting[17].startswith("1-")
    end = utc_timestamp(time.time_ns() + 20 * SECOND)
    urgent = [(40, 1), (59, 6), (126, end), (7001, "high")]
    app.send((11, "busy"), (55, "XYZ"), (54, 1), (60, end), (38, 20_000), *urgent, msg_type="D")
    before = app.until(lambda m: m[11] == "busy" and m[150] == "F")  # trading when killed
    proc.kill()  # SIGKILL: nothing flushed on the way out
    proc.wait(WAIT_S)
    assert app.logged_out.wait(WAIT_S)
    seq_before = max(int(m[34]) for m in [*drain(app.admin), *before])

    fills = ("--fills-csv", tmp_path / "fills.csv")
    again, _ = serve(tmp_path, port, *post_trade, *fills)  # same port and store directory
    procs.append(again)
    assert app.logged_on.wait(WAIT_S)  # the client reconnects
    logons = [m for m in drain(app.admin) if m[35] == "A"]
    assert logons and int(logons[-1][34]) > seq_before  # no reset: the numbers went on
    busy = [m for m in before if m[11] == "busy"] + reports_until_done(app, "busy")
    check_invariants(busy)  # across the restart: CumQty, LeavesQty, AvgPx, unique ExecIDs
    after = [m for m in busy if m[17].startswith("2-")]
    assert after and all(m[150] in ("F", "C") for m in after)
    assert int(after[-1][14]) > int(before[-1][14])  # worked on after the restart
    app.send((11, "resting"), (55, "XYZ"), (54, 1), (790, "s1"), msg_type="H")
    status = app.until(lambda m: m.get(790) == "s1")[-1]  # still working, as it was
    assert (status[150], status[39], status[37], status[151]) == ("I", "0", resting[37], "100")
    app.send((41, "resting"), (11, "resting-x"), (55, "XYZ"), (54, 1), (60, end), msg_type="F")
    # the engine still had it: pending cancel while its venue order settles, then cancelled
    reports = app.until(lambda m: m[11] == "resting-x" and m[150] == "4")
    cancelled = reports[-1]
    assert {m[150] for m in reports if m[11] == "resting-x"} <= {"6", "4"}
    assert (cancelled[35], cancelled[150], cancelled[41]) == ("8", "4", "resting")
    assert cancelled[37] == resting[37] and cancelled[17].startswith("2-")
    dup = order(app, "resting")  # its ClOrdID is still taken
    assert (dup[150], dup[103]) == ("8", "6")

    again.send_signal(signal.SIGTERM)
    assert again.wait(WAIT_S) == 0
    allocations = read_csv(tmp_path / "allocations.csv")  # the whole run, both processes
    assert [int(a["quantity"]) for a in allocations] == [int(m[32]) for m in busy if m[150] == "F"]
    assert {a["client_order_id"] for a in allocations} == {"busy"}
    assert allocations[-1]["cum_qty"] == after[-1][14]
    venue_fills = read_csv(tmp_path / "fills.csv")
    assert sum(int(f["quantity"]) for f in venue_fills) == int(after[-1][14])


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[[sessions]]\nsender_comp_id = "A"\npasword = "x"\n', "unknown field `pasword`"),
        ('[[sessions]]\nsender_comp_id = "A"\nrole = "trader"\n', "role"),
        ('[[sessions]]\nsender_comp_id = "A"\n[sessions.tags]\nspeed = 7001\n', "speed"),
        ('[[sessions]]\nsender_comp_id = "A"\n[[sessions]]\nsender_comp_id = "A"\n', "same"),
    ],
)
def test_a_sessions_file_that_cannot_be_used_is_one_line_and_status_2(
    tmp_path, capsys, toml, message
):
    path = tmp_path / "SESSIONS.toml"
    path.write_text(toml)
    assert main(["serve", "--fix-port", "0", "--sessions", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("smart-exec serve: error: ") and message in err
    assert err.count("\n") == 1
