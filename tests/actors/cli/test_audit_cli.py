"""``smart-exec audit``: filters, CSV, and the session's time zone (times printed
session-local with the offset, read session-local unless an offset or Z is written)."""

import csv
import json
import re

import pytest

from actors.cli import main
from engine import messages as m
from engine.audit.journal import Journal
from engine.clock import HOUR, SECOND
from engine.prices import to_price

PX = to_price("100.01")

DAY = 19_000 * 24 * HOUR  # some UTC midnight


def at(seconds: int) -> int:
    """09:00 New York (UTC-05:00, the default session zone) plus ``seconds``."""
    return DAY + 14 * HOUR + seconds * SECOND


ORDER = m.ClientOrder(
    source="OMS",
    account="A",
    client_order_id="c1",
    instrument="XYZ",
    side=m.Side.BUY,
    quantity=500,
)


def sample_run() -> list[m.Message]:
    return [
        m.SubmitClientOrder(order=ORDER, ts=at(10)),
        m.ParentOrderCreated(
            parent_id="P1",
            instrument="XYZ",
            side=m.Side.BUY,
            quantity=500,
            limit_price=None,
            mandate=m.Mandate(),
            ts=at(20),
        ),
        m.RouteDecided(
            parent_id="P1",
            child_id="C1",
            logic=m.RoutingLogic.PARALLEL,
            placements=[],
            reason="best score",
            ts=at(30),
        ),
        m.ChildOrderFilled(
            parent_id="P1",
            child_id="C1",
            fill_id="F1",
            venue="LIT1",
            quantity=100,
            price=PX,
            liquidity=m.Liquidity.MAKER,
            ts=at(40),
        ),
        m.InternalCrossExecuted(
            cross_id="X1",
            instrument="XYZ",
            quantity=50,
            price=PX,
            buy_parent_id="P1",
            sell_parent_id="P2",
            ts=at(50),
        ),
        m.ExecutionReport(
            source="OMS",
            account="A",
            client_order_id="c1",
            exec_id="E1",
            exec_type=m.ExecType.TRADE,
            ord_status=m.OrdStatus.PARTIALLY_FILLED,
            instrument="XYZ",
            side=m.Side.BUY,
            order_qty=500,
            cum_qty=100,
            leaves_qty=400,
            parent_id="P1",
            venue="LIT1",
            ts=at(60),
        ),
    ]


def make_journal(path):
    j = Journal(str(path))
    j.extend(sample_run())
    j.close()
    return path


def run(capsys, *argv):
    code = main(["audit", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_query_by_parent_prints_records(tmp_path, capsys):
    path = make_journal(tmp_path / "a.sqlite")
    code, out, err = run(capsys, path, "--parent", "P1")
    assert code == 0 and err.splitlines()[-1] == "5 record(s)"
    assert "times session-local, UTC-05:00 (the trail records no zone" in err
    assert [line.split()[0] for line in out.splitlines()] == ["2", "3", "4", "5", "6"]
    assert out.splitlines()[0].split()[1] == "09:00:20-05:00"  # record 2, with its offset


def test_filters_combine_and_export_csv(tmp_path, capsys):
    path = make_journal(tmp_path / "a.sqlite")
    out_csv = tmp_path / "out.csv"
    code, _, err = run(
        capsys,
        path,
        "--client-order",
        "OMS:c1",
        "--type",
        "ExecutionReport,SubmitClientOrder",
        "--since",
        "09:00:05",
        "--until",
        "09:01",
        "--csv",
        out_csv,
    )
    assert code == 0 and "2 record(s) written" in err
    rows = list(csv.DictReader(out_csv.open()))
    assert [r["type"] for r in rows] == ["SubmitClientOrder", "ExecutionReport"]
    assert [r["time"] for r in rows] == ["09:00:10-05:00", "09:01:00-05:00"]
    assert json.loads(rows[1]["message"])["exec_id"] == "E1"
    code, out, _ = run(capsys, path, "--venue", "LIT1", "--since", str(at(45)))
    assert [line.split()[0] for line in out.splitlines()] == ["6"]


def test_bad_arguments_exit_2(tmp_path, capsys):
    path = make_journal(tmp_path / "a.sqlite")
    assert run(capsys, path, "--type", "Nope")[0] == 2
    code, _, err = run(capsys, path, "--since", "yesterday")
    assert code == 2 and "yesterday" in err
    code, _, err = run(capsys, path, "--client-order", "nocolon")
    assert code == 2 and "SOURCE:ID" in err
    code, _, err = run(capsys, tmp_path / "missing.sqlite")
    assert code == 2 and "no journal" in err
    assert not (tmp_path / "missing.sqlite").exists()  # a query never creates a journal


def test_csv_that_cannot_be_written_and_a_time_with_an_offset(tmp_path, capsys):
    path = make_journal(tmp_path / "a.sqlite")
    code, _, err = run(capsys, path, "--csv", tmp_path / "no" / "such" / "dir.csv")
    assert code == 2 and "cannot write" in err
    # the same instant: session-local, with its offset, in UTC (Z or +00:00, ISO or not)
    forms = ["09:00:35", "09:00:35-05:00", "14:00:35Z", "14:00:35+00:00", "2022-01-08T14:00:35Z"]
    results = [run(capsys, path, "--since", when) for when in forms]
    assert all(r == results[0] for r in results) and results[0][0] == 0
    assert "3 record(s)" in results[0][2]  # 09:00:40, :50 and 09:01:00


def test_another_session_zone_moves_the_clock_and_the_session_date(tmp_path, capsys):
    path = make_journal(tmp_path / "a.sqlite")
    code, out, err = run(capsys, path, "--utc-offset", "9", "--since", "23:00:35")
    assert code == 0 and "UTC+09:00 (--utc-offset)" in err  # 14:00 UTC is 23:00 in Tokyo
    assert [line.split()[1] for line in out.splitlines()] == [
        "23:00:40+09:00",
        "23:00:50+09:00",
        "23:01:00+09:00",
    ]
    with pytest.raises(SystemExit) as refused:
        run(capsys, path, "--utc-offset", "15")
    assert refused.value.code == 2 and "not a UTC offset" in capsys.readouterr().err


# ------------------------------------------------------- a real run: run and audit agree

SHORT = """
name = "short"
seed = 3
run_until = "10:06"
[session]
date = "2026-11-23"
open = "09:30"
close = "10:10"
utc_offset_hours = -5
[instrument]
symbol = "XYZ"
ref_price = "100.00"
lot = 100
[mandate]
strategy = "TWAP"
end = "10:05"
[[venues]]
name = "LIT1"
[[venues]]
name = "LIT2"
[[orders]]
id = "o1"
side = "buy"
quantity = 2000
at = "09:55"
"""
FILL_ROW = re.compile(r"^(P1-C\d+)\s+(\d\d:\d\d:\d\d\.\d{3})\s", re.M)


def short_run(tmp_path, capsys):
    """The trail of a short New York run, and its report's fill times by child id."""
    scenario, trail = tmp_path / "short.toml", tmp_path / "short.sqlite"
    scenario.write_text(SHORT)
    assert main(["run", str(scenario), "--audit", str(trail), "--no-baseline", "--fills"]) == 0
    report = capsys.readouterr().out
    assert "Parents (times UTC-05:00;" in report
    return trail, dict(FILL_ROW.findall(report))


def listed(out: str) -> dict[str, str]:
    """child id → printed time of each ChildOrderFilled line of an audit listing."""
    return {
        json.loads(line.split(maxsplit=3)[3])["child_id"]: line.split()[1]
        for line in out.splitlines()
    }


def test_a_session_local_window_finds_that_windows_records(tmp_path, capsys):
    trail, report_times = short_run(tmp_path, capsys)
    in_window = {c: t for c, t in report_times.items() if "10:00:00" <= t <= "10:05:00"}
    assert len(in_window) >= 5 and len(in_window) < len(report_times)
    for since, until in [
        ("10:00", "10:05"),
        ("10:00-05:00", "10:05-05:00"),
        ("15:00Z", "15:05Z"),
        ("2026-11-23T10:00", "2026-11-23T15:05:00+00:00"),
    ]:
        code, out, _ = run(
            capsys, trail, "--type", "ChildOrderFilled", "--since", since, "--until", until
        )
        assert code == 0 and set(listed(out)) == set(in_window), (since, until)


def test_run_report_and_audit_listing_print_the_same_time(tmp_path, capsys):
    trail, report_times = short_run(tmp_path, capsys)
    code, out, _ = run(capsys, trail, "--type", "ChildOrderFilled")
    assert code == 0 and report_times
    assert listed(out) == {c: f"{t}-05:00" for c, t in report_times.items()}
