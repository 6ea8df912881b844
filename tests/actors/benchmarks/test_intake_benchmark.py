"""The intake benchmark's flows are what its figures claim: by-instrument flow is
validated and aggregated without a single cross (``ingest_orders_per_s``), random sides
cross a large part of their quantity (``ingest_netting_orders_per_s``)."""

import random

from actors.benchmarks import intake as bench
from engine.desk.desk import DeskConfig, OrderDesk
from engine.messages import ClientOrderRejected, ExecType, ExecutionReport, InternalCrossExecuted


def _run(sides: str, total: int = 4_000) -> tuple[OrderDesk, list]:
    rng = random.Random(3)
    desk = OrderDesk(bench._instruments(), DeskConfig(window_ns=1_000_000))
    for symbol in desk.intake.instruments:
        desk.set_mid(symbol, bench.REF)
    out = []
    for i, order in enumerate(bench._orders(rng, 0, total, sides)):
        out += [msg for _, msg in desk.submit(order, bench.START_NS + i)]
        if i % 1_000 == 999:
            out += [msg for _, msg in desk.close_window(bench.START_NS + i)]
    return desk, out


def test_by_instrument_flow_is_accepted_and_aggregated_without_crosses():
    desk, out = _run(bench.BY_INSTRUMENT)
    assert not any(isinstance(m, (ClientOrderRejected, InternalCrossExecuted)) for m in out)
    assert not any(isinstance(m, ExecutionReport) and m.exec_type is ExecType.TRADE for m in out)
    sides = {(p.instrument, p.side) for p in desk.parents.values()}
    assert {side for _, side in sides} == {1, -1}  # both sides trade, one per instrument
    assert len({instrument for instrument, _ in sides}) == len(sides)
    assert sum(p.open for p in desk.parents.values()) == sum(o.qty for o in desk.orders())


def test_random_flow_crosses_a_large_part_of_the_quantity():
    desk, out = _run(bench.RANDOM)
    crossed = sum(m.quantity for m in out if isinstance(m, InternalCrossExecuted))
    ordered = sum(o.qty for o in desk.orders())
    # each cross fills both sides: 2·crossed of the ordered quantity is filled internally
    # (~60 % in these small windows, ~75 % in the benchmark's)
    assert 0.2 < crossed / ordered < 0.5
    internal = [m for m in out if isinstance(m, ExecutionReport) and m.internal]
    assert len(internal) > len(desk.parents)
