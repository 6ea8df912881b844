"""``smart-exec run`` never destroys a trail by accident and stops cleanly: a file at the
audit path is refused unless ``--overwrite``; Ctrl-C, SIGTERM and a reader that goes
away (``| head``) end the run without a traceback, the trail flushed and readable. It
prints the summary first and puts the per-fill table in a CSV file."""

import csv
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import threading

import pytest

from actors.cli import main
from actors.cli import run as run_command
from actors.cli.run import Interruption
from actors.scenario_runner import run_scenario
from engine.audit.journal import Journal
from engine.messages import ParentOrderFilled
from engine.scenario import loads
from engine.tca.text import FILLS_CSV_COLUMNS
from tests.actors.test_scenarios import SMALL

REPO = pathlib.Path(__file__).resolve().parents[3]
TIMEOUT_S = 120


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    return path


def run(*args):
    return main(["run", *map(str, args), "--quiet", "--no-baseline"])


def one_error_line(capsys):
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    assert lines[0].startswith("smart-exec run: error: ")
    return lines[0]


def digest_printed(capsys):
    return capsys.readouterr().out.strip().splitlines()[-1].removeprefix("audit-digest: ")


# ------------------------------------------------------------------- the audit path


def test_an_existing_trail_is_refused_naming_it_and_kept_whole(tmp_path, small, capsys):
    trail = tmp_path / "a.sqlite"
    assert run(small, "--audit", trail) == 0
    digest = digest_printed(capsys)
    before = trail.read_bytes()
    assert run(small, "--audit", trail) == 2
    line = one_error_line(capsys)
    assert f"audit trail {trail} already exists" in line and "--overwrite" in line
    assert trail.read_bytes() == before
    assert Journal(str(trail), readonly=True).digest() == digest


def test_overwrite_replaces_a_trail_with_the_new_run(tmp_path, small, capsys):
    trail = tmp_path / "a.sqlite"
    assert run(small, "--audit", trail, "--seed", "4") == 0
    first = digest_printed(capsys)
    assert run(small, "--audit", trail, "--overwrite") == 0
    second = digest_printed(capsys)
    assert first != second == Journal(str(trail), readonly=True).digest()


def test_the_default_audit_path_follows_the_same_rule(tmp_path, small, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run(small) == 0
    capsys.readouterr()
    default = tmp_path / "small.seed3.audit.sqlite"
    before = default.read_bytes()
    assert run(small) == 2
    assert f"audit trail {default.name} already exists" in one_error_line(capsys)
    assert default.read_bytes() == before


def test_a_file_that_is_not_a_trail_is_kept_unless_overwrite(tmp_path, small, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    assert run(small, "--audit", notes) == 2
    assert f"{notes} already exists and is not an audit trail" in one_error_line(capsys)
    assert notes.read_text() == "my notes\n"
    assert run(small, "--audit", notes, "--overwrite") == 0  # asked for: replaced
    assert Journal(str(notes), readonly=True).digest() == digest_printed(capsys)


def test_the_scenario_file_is_never_the_audit_trail(tmp_path, small, capsys):
    text = small.read_text()
    for extra in ([], ["--overwrite"]):
        assert run(small, "--audit", small, *extra) == 2
        assert "is the scenario file itself" in one_error_line(capsys)
        assert small.read_text() == text
    link = tmp_path / "link.sqlite"
    link.symlink_to(small)  # another name for it
    assert run(small, "--audit", link, "--overwrite") == 2
    assert "is the scenario file itself" in one_error_line(capsys)
    assert small.read_text() == text


def test_a_directory_at_the_audit_path_is_refused(tmp_path, small, capsys):
    assert run(small, "--audit", tmp_path, "--overwrite") == 2
    assert "a directory is there" in one_error_line(capsys)


# ------------------------------------------------------------------------ stopping


def test_an_exception_mid_run_leaves_the_trail_flushed_and_closed(tmp_path):
    """Whatever ends the simulation early (here an interrupt raised by the progress
    callback) the runner closes its trail: no WAL left, and it replays."""
    trail = tmp_path / "a.sqlite"
    calls = []

    def progress(now, end, fills, arrived):
        calls.append(now)
        if len(calls) == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_scenario(loads(SMALL), audit=trail, progress=progress)
    assert not pathlib.Path(f"{trail}-wal").exists()
    with Journal(str(trail), readonly=True) as journal:
        assert len(journal) > 0 and len(journal.digest()) == 64
        assert sum(1 for _ in journal.replay()) == len(journal)


def test_stop_ends_the_run_at_its_next_step_with_the_trail_whole(tmp_path):
    trail = tmp_path / "a.sqlite"
    asked = []

    def stop():
        asked.append(True)
        return len(asked) > 1  # one step, then stop

    result = run_scenario(loads(SMALL), audit=trail, stop=stop)
    full = run_scenario(loads(SMALL))
    assert result.interrupted and not full.interrupted
    assert result.ended_ns < full.ended_ns and len(result.journal) < len(full.journal)
    result.journal.close()
    assert Journal(str(trail), readonly=True).digest() == result.digest


def test_the_first_signal_in_the_simulation_is_deferred_a_second_is_not():
    stop = Interruption()
    with stop.deferred():
        try:
            stop(signal.SIGTERM, None)
        except KeyboardInterrupt:
            pytest.fail("the first signal must wait for the run's next step")
        assert stop.requested() and stop.exit_status == 143 and stop.name == "SIGTERM"
        with pytest.raises(KeyboardInterrupt):
            stop(signal.SIGINT, None)
    assert stop.exit_status == 143  # the first signal names the stop
    outside = Interruption()
    with pytest.raises(KeyboardInterrupt):
        outside(signal.SIGINT, None)
    assert outside.exit_status == 130


def test_an_interrupt_that_cannot_wait_still_ends_with_one_line(
    tmp_path, small, capsys, monkeypatch
):
    """A second Ctrl-C (or one the run cannot defer) interrupts the simulation where it
    is: still no traceback, status 130, and the trail flushed and closed."""
    trail = tmp_path / "a.sqlite"
    real = run_command.run_scenario

    def interrupted_mid_run(*args, **kwargs):
        def progress(*_):
            raise KeyboardInterrupt

        return real(*args, **{**kwargs, "progress": progress})

    monkeypatch.setattr(run_command, "run_scenario", interrupted_mid_run)
    assert run(small, "--audit", trail) == 130
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    assert captured.err.strip().splitlines() == [
        f"smart-exec run: interrupted by SIGINT; the audit trail so far is {trail} "
        f"(smart-exec resume {trail} continues it)"
    ]
    assert not pathlib.Path(f"{trail}-wal").exists()
    with Journal(str(trail), readonly=True) as journal:
        assert len(journal) > 0 and len(journal.digest()) == 64
        assert not journal.closed_cleanly  # interrupted, not complete


def test_main_restores_the_signal_handlers_it_installed(tmp_path, small, capsys):
    before = [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)]
    assert run(small, "--audit", tmp_path / "a.sqlite") == 0
    assert [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)] == before


def cli(*args, **popen):
    """``smart-exec`` in a child process, on this tree's code."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "actors.cli", *map(str, args)],
        env=env,
        stdin=subprocess.DEVNULL,
        **popen,
    )


def read_until_started(proc):
    """Wait for the first progress line (the simulation is running), bounded in time."""
    first = []
    reader = threading.Thread(target=lambda: first.append(proc.stderr.readline()))
    reader.start()
    reader.join(TIMEOUT_S)
    if not first or not first[0]:
        proc.kill()
        pytest.fail(f"no progress line within {TIMEOUT_S}s")
    return first[0]


@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_the_run_cleanly_with_its_trail(tmp_path, signum, status):
    """A real process, signalled once it reports progress: one line saying where the
    trail is, the shell's status for the signal, and a trail that opens and digests."""
    trail = tmp_path / "a.sqlite"
    proc = cli(
        "run",
        "brief_vwap",
        "--no-baseline",
        "--audit",
        trail,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert "client orders in" in read_until_started(proc)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=TIMEOUT_S)
    finally:
        proc.kill()
    assert proc.returncode == status, err
    assert out == "" and "Traceback" not in err
    name = signal.Signals(signum).name
    [line] = [x for x in err.splitlines() if "interrupted" in x]
    assert line.startswith(f"smart-exec run: interrupted by {name} at ")
    assert f"the audit trail so far is {trail} (" in line
    assert not pathlib.Path(f"{trail}-wal").exists()  # closed
    with Journal(str(trail), readonly=True) as journal:
        assert len(journal) > 0 and len(journal.digest()) == 64
        assert not journal.closed_cleanly  # interrupted, not complete


def test_a_reader_that_goes_away_ends_the_run_without_a_traceback(tmp_path, small):
    """``smart-exec run ... | head``: stdout closed before the summary is printed."""
    trail = tmp_path / "a.sqlite"
    proc = cli(
        "run",
        small,
        "--quiet",
        "--no-baseline",
        "--audit",
        trail,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # the reader is gone before the first line
    try:
        _, err_bytes = proc.communicate(timeout=TIMEOUT_S)
    finally:
        proc.kill()
    err = err_bytes.decode()
    assert proc.returncode == 141, err
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err
    with Journal(str(trail), readonly=True) as journal:
        assert len(journal) > 0 and len(journal.digest()) == 64


def test_an_audit_listing_whose_reader_goes_away_ends_quietly(tmp_path, small):
    """``smart-exec audit TRAIL | head``: the listing stops, no traceback, status 141."""
    trail = tmp_path / "a.sqlite"
    assert run(small, "--audit", trail) == 0
    proc = cli("audit", trail, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    try:
        _, err_bytes = proc.communicate(timeout=TIMEOUT_S)
    finally:
        proc.kill()
    err = err_bytes.decode()
    assert proc.returncode == 141, err
    assert "Traceback" not in err and "Broken pipe" not in err and "Exception ignored" not in err


# ---------------------------------------------------------------- what the run prints

FILL_ROW = re.compile(r"^P1-C\d+\s", re.M)


def test_the_summary_comes_first_and_the_fills_go_to_a_csv_beside_the_trail(
    tmp_path, small, capsys
):
    """Parent summary, then the comparison with the baseline, then one line naming the
    CSV; no per-fill row on the terminal unless asked; the digest stays last."""
    trail = tmp_path / "day.audit.sqlite"
    assert main(["run", str(small), "--quiet", "--audit", str(trail)]) == 0
    out = capsys.readouterr().out
    csv_path = tmp_path / "day.fills.csv"
    with Journal(str(trail), readonly=True) as journal:
        fills = list(journal.messages(ParentOrderFilled))
    assert len(fills) > 1 and not FILL_ROW.search(out)
    order = [
        out.index("Parent P1"),
        out.index("Baseline (each order marketable"),
        out.index(f"Fills: {len(fills):,} rows in {csv_path} (--fills prints them)"),
    ]
    assert order == sorted(order)
    assert out.strip().splitlines()[-1].startswith("audit-digest: ")
    with open(csv_path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == list(FILLS_CSV_COLUMNS)
    assert sorted(r["fill_id"] for r in rows) == sorted(f.fill_id for f in fills)
    assert sum(int(r["quantity"]) for r in rows) == sum(f.quantity for f in fills)


def test_fills_prints_the_table_after_the_summary(tmp_path, small, capsys):
    assert run(small, "--audit", tmp_path / "a.sqlite", "--fills") == 0
    out = capsys.readouterr().out
    rows = FILL_ROW.findall(out)
    with open(tmp_path / "a.fills.csv", newline="") as handle:
        assert len(rows) == len(list(csv.DictReader(handle))) > 1
    assert out.index("Client executions") < out.index("Fills of P1") < FILL_ROW.search(out).start()
    assert "Total/Avg" in out and "(--fills prints them)" not in out
    assert out.strip().splitlines()[-1].startswith("audit-digest: ")


def test_the_fills_csv_reads_back_into_the_same_tca(tmp_path, small, capsys):
    """``smart-exec tca`` on the run's CSV gives the run's quantity and performance (the
    benchmark is written on the 6-decimal price grid)."""
    out_csv = tmp_path / "mine.csv"
    assert run(small, "--audit", tmp_path / "a.sqlite", "--fills-csv", out_csv) == 0
    printed = capsys.readouterr().out
    assert f"rows in {out_csv}" in printed and not (tmp_path / "a.fills.csv").exists()
    assert main(["tca", str(out_csv), "--json"]) == 0
    total = json.loads(capsys.readouterr().out)["total"]
    result = run_scenario(loads(SMALL))
    [parent] = result.tca.parents
    assert total["quantity"] == parent.total.quantity == parent.filled
    assert total["bps"] == pytest.approx(parent.total.performance_bps, abs=0.01)


def test_a_fills_csv_in_the_way_is_refused_before_the_run(tmp_path, small, capsys):
    taken = tmp_path / "a.fills.csv"
    taken.write_text("mine\n")
    trail = tmp_path / "a.sqlite"
    assert run(small, "--audit", trail) == 2
    line = one_error_line(capsys)
    assert f"{taken} already exists" in line and "--overwrite" in line
    assert taken.read_text() == "mine\n" and not trail.exists()  # nothing ran
    assert run(small, "--audit", trail, "--fills-csv", trail) == 2
    assert "is the audit trail" in one_error_line(capsys)
    assert run(small, "--audit", trail, "--fills-csv", small, "--overwrite") == 2
    assert "is the scenario file itself" in one_error_line(capsys)
    assert run(small, "--audit", trail, "--overwrite") == 0
    assert taken.read_text().startswith("child_id,time,venue,")


OUTAGE = SMALL + '[[faults]]\nvenue = "LIT2"\nfault = "down"\nat = "09:33"\nduration_s = 120\n'


def test_the_html_report_holds_the_comparison_the_digest_and_the_outage(tmp_path, capsys):
    scenario = tmp_path / "outage.toml"
    scenario.write_text(OUTAGE)
    args = ["run", str(scenario), "--quiet", "--audit", str(tmp_path / "a.sqlite")]
    assert main([*args, "--report", str(tmp_path / "html")]) == 0
    digest = digest_printed(capsys)
    page = (tmp_path / "html" / "report.html").read_text()
    assert f"audit-digest: <code>{digest}</code>" in page
    comparison = page[page.index("<h2>Engine vs baseline</h2>") : page.index("<svg")]
    assert "Baseline: cost vs arrival (fees in, unfilled shares at the end price)" in comparison
    assert "Engine saving vs baseline, drift-adjusted" in comparison
    # the outage, 09:33-09:35 New York time, shaded on both time charts
    bands = re.findall(r'<rect class="fault"[^>]*><title>([^<]*)</title>', page)
    assert bands == ["LIT2 down 09:33:00–09:35:00"] * 2
