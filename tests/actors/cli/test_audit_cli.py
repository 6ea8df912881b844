import csv
import json

from actors.cli import main
from engine import messages as m
from engine.audit.journal import Journal
from engine.clock import HOUR, SECOND
from engine.prices import to_price

PX = to_price("100.01")

DAY = 19_000 * 24 * HOUR  # some UTC midnight


def at(seconds: int) -> int:
    return DAY + 9 * HOUR + seconds * SECOND


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
    assert code == 0 and err.strip() == "5 record(s)"
    assert [line.split()[0] for line in out.splitlines()] == ["2", "3", "4", "5", "6"]
    assert "09:00:20" in out  # time of day of record 2


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
    # the same instant written in UTC and at -05:00 selects the same records
    utc = run(capsys, path, "--since", "09:00:35")
    new_york = run(capsys, path, "--since", "04:00:35-05:00")
    assert utc[0] == new_york[0] == 0 and utc[1:] == new_york[1:]
    assert "3 record(s)" in new_york[2]  # 09:00:40, :50 and 09:01:00
