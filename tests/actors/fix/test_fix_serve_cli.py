"""``smart-exec serve`` in a child process, driven by QuickFIX: the ``listening on`` line,
a graceful SIGTERM (every session logged out), and a restart after ``kill -9`` that resumes
the sequence numbers with new, still unique ExecIDs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from qfclient import Initiator

from actors.cli import main
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
"""


def serve(tmp_path: Path, port: int = 0) -> tuple[subprocess.Popen[str], int]:
    sessions = tmp_path / "SESSIONS.toml"
    sessions.write_text(SESSIONS_TOML.format(store=tmp_path / "store"))
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    args = ["serve", "--fix-port", port, "--sessions", sessions, "--session-hours", "1"]
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


def test_after_kill_9_the_session_resumes_its_numbers_with_new_exec_ids(tmp_path, stoppable):
    procs, clients = stoppable
    proc, port = serve(tmp_path)
    procs.append(proc)
    client = Initiator(port, tmp_path / "client", "change-me", reset=False)
    clients.append(client)
    app = client.app
    assert app.logged_on.wait(WAIT_S)
    ack = order(app, "before")
    assert ack[150] == "0" and ack[17].startswith("1-")
    proc.kill()  # SIGKILL: nothing flushed on the way out
    proc.wait(WAIT_S)
    assert app.logged_out.wait(WAIT_S)
    drain(app.admin)
    assert drain(app.app) == []

    again, _ = serve(tmp_path, port)  # same port and store directory: the client reconnects
    procs.append(again)
    assert app.logged_on.wait(WAIT_S)
    logons = [m for m in drain(app.admin) if m[35] == "A"]
    assert logons and int(logons[-1][34]) > 2  # no reset: the numbers went on
    left = app.next_app(WAIT_S)  # the order the dead process was working: closed, said why
    assert (left[11], left[150], left[39], left[151], left[43]) == ("before", "4", "4", "0", "Y")
    assert "restarted" in left[58] and left[17].startswith("2-")
    ack = order(app, "after")
    assert ack[150] == "0" and ack[17].startswith("2-") and ack[37].startswith("2-")
    dup = order(app, "before")  # its ClOrdID is still taken
    assert (dup[150], dup[103]) == ("8", "6")


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
