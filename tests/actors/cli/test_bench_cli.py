"""``smart-exec bench --json`` prints one JSON object with every issue's figures."""

import json

from actors.cli import main

REQUIRED = {
    "book_ops_per_s",
    "sim_deliveries_per_s",
    "sim_day_wall_s",  # foundation
    "ingest_orders_per_s",
    "ingest_netting_orders_per_s",
    "bytes_per_resting_order",  # intake
    "router_decisions_per_s",  # router
    "recalibration_p99_us",
    "recalibration_unpinned_p99_us",  # strategies
    "child_orders_per_s",
    "venue_orders_per_s",
    "e2e_client_orders_per_s",  # the main job
    "journal_appends_per_s",
    "journal_durable_appends_per_s",  # acknowledged only once committed
    "fix_orders_per_s",
    "fix_ack_p99_ms",  # the FIX gateway over loopback
}


def test_bench_quick_json_has_every_figure(capsys):
    assert main(["bench", "--quick", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures.keys() >= REQUIRED
    assert all(isinstance(v, (int, float)) and v > 0 for k, v in figures.items() if k in REQUIRED)
