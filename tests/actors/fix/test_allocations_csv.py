"""Allocations as CSV for post-trade: one row per client order fill, adding up to what
each client order was reported filled, from ``smart-exec run --allocations-csv``."""

import csv
from collections import defaultdict
from decimal import Decimal

from actors.cli import main
from engine.audit.journal import Journal
from engine.fix.allocations import ALLOCATIONS_CSV_COLUMNS
from engine.messages import ExecType, ExecutionReport
from tests.actors.test_scenarios import SMALL


def test_run_writes_every_allocation_and_they_add_up_to_each_orders_fills(tmp_path, capsys):
    scenario, trail, out = tmp_path / "small.toml", tmp_path / "a.sqlite", tmp_path / "alloc.csv"
    scenario.write_text(SMALL)
    args = ["run", scenario, "--quiet", "--no-baseline", "--audit", trail, "--allocations-csv", out]
    assert main([str(a) for a in args]) == 0
    with out.open(newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames or ()) == ALLOCATIONS_CSV_COLUMNS
        rows = list(reader)
    assert f"Allocations: {len(rows):,} rows in {out}" in capsys.readouterr().out
    reports = list(Journal(str(trail), readonly=True).messages(ExecutionReport))
    fills = [r for r in reports if r.exec_type is ExecType.TRADE]
    assert rows and [r["exec_id"] for r in rows] == [f.exec_id for f in fills]
    filled: dict[str, int] = defaultdict(int)
    notional: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        key = f"{row['source']}/{row['client_order_id']}"
        filled[key] += int(row["quantity"])
        notional[key] += int(row["quantity"]) * Decimal(row["price"])
        assert int(row["cum_qty"]) == filled[key] <= int(row["order_qty"])
        assert abs(Decimal(row["avg_price"]) - notional[key] / filled[key]) < Decimal("1e-6")
        assert (row["venue"] == "XOFF") == (row["internal"] == "true")
    final = {f"{r.source}/{r.client_order_id}": r.cum_qty for r in reports}
    assert {k: v for k, v in final.items() if v} == dict(filled)
