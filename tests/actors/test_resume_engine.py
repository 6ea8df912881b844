"""``Engine.resume``: an embedded engine stopped part-way is built again from its trail;
given the same inputs it reproduces the trail, then writes on to the trail of a run
never stopped. A client order sent again is answered with its state, never doubled."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors import Engine
from actors.api import Report
from engine import messages as m
from engine.audit.journal import Journal, ReplayMismatch
from engine.clock import MINUTE, SECOND
from tests.actors.test_api import MARKET, order

OPEN = MARKET.session.open_ns
MANDATE = m.Mandate(strategy=m.StrategyName.TWAP, end_ns=OPEN + 20 * MINUTE)
END = OPEN + 25 * MINUTE  # the orders are done by then (not the whole session: quicker)
ORDERS = [(OPEN + (i + 1) * SECOND, order(f"o{i}", 2_000, mandate=MANDATE)) for i in range(4)]


def inputs(engine: Engine, orders=ORDERS) -> None:
    """What the client sends, each at its time (a resumed engine gets the same again)."""
    for at, o in orders:
        engine.submit(o, at_ns=at)
    engine.cancel("OMS", "o3", at_ns=OPEN + 5 * MINUTE)


def uninterrupted() -> tuple[str, list[Report]]:
    with Engine(MARKET, seed=9) as engine:
        inputs(engine)
        engine.run_until(END)
    assert engine.journal is not None
    return engine.journal.digest(), engine.reports  # after the close: its stop records too


def stopped(path: Path, at_ns: int) -> list[Report]:
    """A run stopped at ``at_ns`` (its trail left interrupted); what its client got."""
    journal = Journal(str(path))
    got: list[Report] = []
    with Engine(MARKET, seed=9, audit=journal) as engine:
        engine.on_report(got.append)
        inputs(engine)
        engine.run_until(at_ns)
    journal.close(complete=False)
    return got


def test_a_resumed_engine_ends_with_the_uninterrupted_trail(tmp_path):
    digest, reports = uninterrupted()
    path = tmp_path / "e.sqlite"
    before = stopped(path, OPEN + 8 * MINUTE)
    assert 0 < len(before) < len(reports)
    after: list[Report] = []
    engine = Engine.resume(str(path))
    engine.on_report(after.append)
    assert engine.replaying
    inputs(engine)
    engine.run_until(END)
    assert not engine.replaying
    engine.close()
    with Journal(str(path), readonly=True) as trail:
        assert trail.closed_cleanly and trail.digest() == digest
    assert engine.reports == reports
    # the subscriber gets what it was not told before the stop (the last committed wave's
    # reports may come again: they may not have reached it before a kill)
    ids = [r.msg_id for r in reports]
    assert [r.msg_id for r in after] == ids[len(ids) - len(after) :]
    assert set(ids) == {r.msg_id for r in before} | {r.msg_id for r in after}


def test_other_inputs_than_the_trail_holds_are_a_mismatch_at_their_record(tmp_path):
    path = tmp_path / "e.sqlite"
    stopped(path, OPEN + 8 * MINUTE)
    with Journal(str(path), readonly=True) as trail:
        [submitted] = [
            r.seq
            for r in trail.query(types="SubmitClientOrder")
            if isinstance(r.message, m.SubmitClientOrder)
            and r.message.order.client_order_id == "o2"
        ]
    engine = Engine.resume(str(path))
    changed = [(at, order(o.client_order_id, 1_000 if o.client_order_id == "o2" else o.quantity,
                          mandate=MANDATE)) for at, o in ORDERS]  # fmt: skip
    inputs(engine, changed)
    with pytest.raises(ReplayMismatch, match=f"at seq {submitted}: SubmitClientOrder.order") as e:
        engine.run_until(END)
    assert e.value.seq == submitted
    engine.close()
    with Journal(str(path), readonly=True) as trail:
        assert not trail.closed_cleanly  # left as it was: still resumable


def test_a_client_order_sent_again_is_answered_with_its_state_never_doubled():
    with Engine(MARKET, seed=9) as engine:
        inputs(engine)
        engine.run_until(OPEN + 8 * MINUTE)
        [(_, first)] = ORDERS[:1]
        engine.submit(first)  # the client never heard back (say): it sends it again
        engine.submit(order("o0", 3_000, mandate=MANDATE))  # another order, same id
        engine.run_until(OPEN + 8 * MINUTE + SECOND)
        resent = [r for r in engine.reports if r.ts >= OPEN + 8 * MINUTE]
    status, refused = [r for r in resent if r.client_order_id == "o0"]
    assert isinstance(status, m.ExecutionReport)
    assert status.exec_type is m.ExecType.ORDER_STATUS and status.cum_qty > 0
    assert status.order_qty == 2_000 and status.cum_qty + status.leaves_qty == 2_000
    assert isinstance(refused, m.ClientOrderRejected)
    assert refused.reason == "duplicate_id_different_content"
    news = [r for r in engine.reports if getattr(r, "exec_type", None) is m.ExecType.NEW]
    assert len(news) == len(ORDERS)  # no second order
