"""The embedded API as a user drives it: submit, amend, cancel, subscribe, reject."""

import pytest

from actors import Engine, MarketConfig
from engine import messages as m
from engine.audit.journal import Journal
from engine.clock import MINUTE, SECOND
from engine.config import VenueConfig
from engine.instruments import Instrument
from engine.prices import to_price

MARKET = MarketConfig(
    instrument=Instrument(symbol="XYZ", ref_price=to_price("100"), lot=100),
    venues=[VenueConfig(name="LIT1"), VenueConfig(name="LIT2")],
)


def order(cid, qty, **kw):
    return m.ClientOrder(
        source="OMS",
        account="A1",
        client_order_id=cid,
        instrument="XYZ",
        side=m.Side.BUY,
        quantity=qty,
        **kw,
    )


def test_submit_amend_cancel_and_per_order_subscriptions():
    with Engine(MARKET, seed=5) as engine:
        everything, mine, rejects = [], [], []
        engine.on_report(everything.append)
        engine.on_report(mine.append, source="OMS", client_order_id="a")
        engine.on_report(rejects.append, client_order_id="bad")
        open_ns = MARKET.session.open_ns
        mandate = m.Mandate(strategy=m.StrategyName.TWAP, end_ns=open_ns + 20 * MINUTE)
        engine.submit(order("a", 5_000, mandate=mandate), at_ns=open_ns + SECOND)
        engine.submit(order("b", 3_000, mandate=mandate), at_ns=open_ns + SECOND)
        engine.submit(order("bad", 150), at_ns=open_ns + SECOND)  # not a lot multiple
        engine.amend("OMS", "a", quantity=4_000, at_ns=open_ns + 2 * MINUTE)
        engine.cancel("OMS", "b", at_ns=open_ns + 3 * MINUTE)
        engine.run_until(open_ns + 30 * MINUTE)

    assert mine and all(r.client_order_id == "a" for r in mine)
    kinds = [r.exec_type for r in mine]
    assert kinds[0] is m.ExecType.NEW and m.ExecType.REPLACED in kinds
    assert mine[-1].ord_status is m.OrdStatus.FILLED and mine[-1].cum_qty == 4_000
    assert [r.reason for r in rejects] == ["quantity_off_lot"]
    b = [r for r in everything if getattr(r, "client_order_id", "") == "b"]
    assert b[-1].exec_type is m.ExecType.CANCELED and b[-1].cum_qty < 3_000
    assert len(everything) > len(mine) + len(rejects)


def test_the_engine_checks_a_mandate_without_an_end_against_the_session_close():
    """The desk actor gives intake the session's close as the default end: a start after
    it, or an order arriving after it without an end, is rejected, not accepted and then
    expired."""
    session = MARKET.session
    with Engine(MARKET, seed=5) as engine:
        engine.submit(
            order("late_start", 1_000, mandate=m.Mandate(start_ns=session.close_ns + MINUTE)),
            at_ns=session.open_ns + SECOND,
        )
        engine.submit(order("after_close", 1_000), at_ns=session.close_ns + SECOND)
        engine.run_until(session.close_ns + MINUTE)
        reports = list(engine.reports)
    assert [(r.client_order_id, r.reason) for r in reports] == [
        ("late_start", "start_after_end"),
        ("after_close", "end_in_past"),
    ]
    assert all(isinstance(r, m.ClientOrderRejected) for r in reports)


def test_a_raising_subscriber_neither_stops_the_engine_nor_starves_the_others():
    open_ns = MARKET.session.open_ns
    with Engine(MARKET, seed=5) as engine:
        seen = []

        def buggy(report):
            raise RuntimeError("subscriber bug")

        engine.on_report(buggy)
        engine.on_report(seen.append)
        engine.submit(
            order("a", 1_000, mandate=m.Mandate(end_ns=open_ns + 10 * MINUTE)),
            at_ns=open_ns + SECOND,
        )
        engine.run_until(open_ns + 20 * MINUTE)
        assert seen == engine.reports and engine.subscriber_errors == len(seen)
    assert seen[-1].ord_status is m.OrdStatus.FILLED and seen[-1].cum_qty == 1_000


def test_a_working_parent_crosses_an_opposing_one_once_that_one_starts():
    """A buy that starts later cannot cross the sell working now when their window closes;
    once it starts, the desk crosses the two parents' unfilled parts at the mid (on market
    data) and only the net residual stays in the market."""
    open_ns = MARKET.session.open_ns
    end = open_ns + 30 * MINUTE
    start = open_ns + 10 * MINUTE
    with Engine(MARKET, seed=5) as engine:
        engine.submit(
            m.ClientOrder(
                source="OMS",
                account="A1",
                client_order_id="s",
                instrument="XYZ",
                side=m.Side.SELL,
                quantity=2_000,
                mandate=m.Mandate(strategy=m.StrategyName.TWAP, end_ns=end),
            ),
            at_ns=open_ns + SECOND,
        )
        engine.submit(
            order(
                "b",
                3_000,
                mandate=m.Mandate(strategy=m.StrategyName.TWAP, start_ns=start, end_ns=end),
            ),
            at_ns=open_ns + SECOND,
        )
        engine.run_until(end + 10 * MINUTE)
        journal = engine.journal
        (cross,) = journal.messages(m.InternalCrossExecuted)
        created = {p.side: p.parent_id for p in journal.messages(m.ParentOrderCreated)}
        sold = sum(
            f.quantity
            for f in journal.messages(m.ParentOrderFilled)
            if f.parent_id == created[m.Side.SELL]
        )
    assert (cross.buy_parent_id, cross.sell_parent_id) == (
        created[m.Side.BUY],
        created[m.Side.SELL],
    )
    assert start <= cross.ts < start + 5 * SECOND  # at the first market data after the start
    assert sold + cross.quantity == 2_000 and 0 < sold < 2_000
    last = {r.client_order_id: r for r in engine.reports if isinstance(r, m.ExecutionReport)}
    assert last["b"].cum_qty == 3_000 and last["s"].cum_qty == 2_000  # all filled, none over
    assert "EXCESS" not in {r.source for r in engine.reports}


def test_client_commands_are_journaled_at_the_time_they_are_sent():
    """A command scheduled with ``at_ns`` is stamped with that time, not the time the call
    was made: the audit trail's time range queries and the TCA's decision price use it."""
    open_ns = MARKET.session.open_ns
    mandate = m.Mandate(strategy=m.StrategyName.TWAP, end_ns=open_ns + 60 * MINUTE)
    with Engine(MARKET, seed=5) as engine:
        engine.submit(order("a", 5_000, mandate=mandate), at_ns=open_ns + 10 * MINUTE)
        engine.amend("OMS", "a", quantity=4_000, at_ns=open_ns + 20 * MINUTE)
        engine.cancel("OMS", "a", at_ns=open_ns + 30 * MINUTE)
        engine.run_until(open_ns + 40 * MINUTE)
        stamped = [
            (type(c).__name__, c.ts - open_ns)
            for c in engine.journal.messages(
                m.SubmitClientOrder, m.AmendClientOrder, m.CancelClientOrder
            )
        ]
        since = [
            r.message
            for r in engine.journal.query(since=open_ns + 25 * MINUTE, types=["CancelClientOrder"])
        ]
    assert stamped == [
        ("SubmitClientOrder", 10 * MINUTE),
        ("AmendClientOrder", 20 * MINUTE),
        ("CancelClientOrder", 30 * MINUTE),
    ]
    assert len(since) == 1


def test_an_audit_trail_of_another_run_is_refused(tmp_path):
    """One run per audit trail: appended to an old one, recovery, the TCA and the digest
    would mix two runs. The path is refused, the old trail untouched."""
    path = str(tmp_path / "run.sqlite")
    with Engine(MARKET, seed=5, audit=path) as engine:
        engine.submit(order("a", 1_000))
        engine.run_until(MARKET.session.open_ns + MINUTE)
    held = len(Journal(path, readonly=True))
    with pytest.raises(ValueError, match="already holds"):
        Engine(MARKET, seed=5, audit=path)
    assert len(Journal(path, readonly=True)) == held > 0
    Engine(MARKET, seed=5, audit=str(tmp_path / "new.sqlite")).close()  # a new path is fine


def test_an_open_journal_that_holds_another_run_is_refused_too(tmp_path):
    """An engine handed an open Journal gets the same one-run-per-trail check as one handed
    a path: re-submitting a finished run's orders into its trail would fill them twice."""
    path = str(tmp_path / "run.sqlite")
    with Engine(MARKET, seed=5, audit=path) as engine:
        engine.submit(order("a", 1_000))
        engine.run_until(MARKET.session.open_ns + MINUTE)
    reopened = Journal(path)
    held = len(reopened)
    with pytest.raises(ValueError, match=f"already holds {held:,} records of another run"):
        Engine(MARKET, seed=5, audit=reopened)
    assert len(reopened) == held > 0  # untouched, and still the caller's to use and close
    assert reopened.digest() == Journal(path, readonly=True).digest()
    reopened.close()
    fresh = Journal(str(tmp_path / "fresh.sqlite"))
    with Engine(MARKET, seed=5, audit=fresh) as engine:  # an empty journal is fine
        engine.submit(order("a", 1_000))
        engine.run_until(MARKET.session.open_ns + MINUTE)
    assert len(fresh) > 0
    fresh.close()


def test_a_command_scheduled_for_later_does_not_hold_up_one_sent_now():
    """at_ns schedules a command for its time; a command sent now on the same link is not
    queued behind it (FIFO holds for what is sent now)."""
    open_ns = MARKET.session.open_ns
    with Engine(MARKET, seed=5) as engine:
        engine.run_until(open_ns)
        engine.submit(order("later", 1_000), at_ns=open_ns + 2 * 60 * MINUTE)
        engine.submit(order("now", 1_000))
        engine.run_until(open_ns + MINUTE)
        acked = {
            r.client_order_id: r.ts - open_ns
            for r in engine.reports
            if isinstance(r, m.ExecutionReport) and r.exec_type is m.ExecType.NEW
        }
    assert acked == {"now": 0}  # before the fix: both acknowledged at +2 h


def test_closing_one_engine_leaves_another_running():
    open_ns = MARKET.session.open_ns
    a = Engine(MARKET, seed=1, threaded=True)
    b = Engine(MARKET, seed=2, threaded=True)
    try:
        a.close()
        b.submit(order("b1", 1_000))
        b.run_until(open_ns)
        assert [r.client_order_id for r in b.reports] == ["b1"]
    finally:
        b.close()


def test_a_closed_engine_refuses_work_and_closes_its_audit_file(tmp_path):
    path = str(tmp_path / "run.sqlite")
    engine = Engine(MARKET, seed=5, audit=path)
    engine.submit(order("a", 1_000))
    engine.run_until(MARKET.session.open_ns)
    engine.close()
    engine.close()  # twice is fine
    with pytest.raises(RuntimeError, match="closed"):
        engine.submit(order("b", 1_000))
    with pytest.raises(RuntimeError, match="closed"):
        engine.run_until(MARKET.session.open_ns + MINUTE)
    assert not (tmp_path / "run.sqlite-wal").exists()  # closed: the WAL is checkpointed away
    trail = Journal(path, readonly=True)
    assert any(r.client_order_id == "a" for r in trail.messages(m.ExecutionReport))


def test_a_halted_engine_stays_halted():
    """Past the top supervisor the run halts; running it again, or sending it work, says
    so again instead of carrying on with dead actors."""
    from actors.runtime import RuntimeHalted

    open_ns = MARKET.session.open_ns
    with Engine(MARKET, seed=5, max_restarts=2) as engine:
        for k in range(4):  # more restarts than the intensity allows, within its window
            engine.inject_crash("desk", at_ns=open_ns + k * SECOND)
        with pytest.raises(RuntimeHalted):
            engine.run_until(open_ns + MINUTE)
        with pytest.raises(RuntimeHalted):
            engine.run_until(open_ns + 2 * MINUTE)
        with pytest.raises(RuntimeHalted):
            engine.submit(order("late", 1_000))


def test_a_restarted_router_relays_market_data_to_its_subscribers_again():
    """The desk and the parents subscribe to the router once; a restarted router takes
    its subscribers back from the audit trail, or the parents trade on their last quotes
    (and a must-complete order can expire short)."""
    open_ns = MARKET.session.open_ns
    mandate = m.Mandate(strategy=m.StrategyName.TWAP, end_ns=open_ns + 30 * MINUTE)
    with Engine(MARKET, seed=5) as engine:
        engine.submit(order("a", 5_000, mandate=mandate), at_ns=open_ns + SECOND)
        engine.inject_crash("router", at_ns=open_ns + 5 * MINUTE)
        engine.run_until(open_ns + 6 * MINUTE)
        router = engine.runtime.ref("router").actor
        assert router.generation == 1 and set(router.subscribers) == {"desk", "P1"}
        engine.run_until(open_ns + 40 * MINUTE)
    last = [r for r in engine.reports if isinstance(r, m.ExecutionReport)][-1]
    assert last.ord_status is m.OrdStatus.FILLED and last.cum_qty == 5_000


# Fault plans and orders that cannot happen fail at the call, not silently in the run.
@pytest.mark.parametrize(
    ("inject", "message"),
    [
        (
            lambda e: e.inject_fault("LIT9", "down"),
            r"inject_fault: unknown venue 'LIT9' \(venues: LIT1, LIT2\)",
        ),
        (
            lambda e: e.inject_fault("LIT1", "melt"),
            r"inject_fault: unknown fault 'melt' \(one of: down, up, degrade, reject_orders, "
            r"drop_cancels, stale_data, .*, link_reorder\)",
        ),
        (
            lambda e: e.inject_fault("LIT1", "down", duration_ns=-SECOND),
            r"inject_fault: duration_ns -1000000000 is not a positive number of nanoseconds",
        ),
        (
            lambda e: e.inject_fault("LIT1", "down", duration_ns=0),
            r"inject_fault: duration_ns 0 is not a positive",
        ),
        (
            lambda e: e.inject_fault("LIT1", "down", duration_ns=2**64),
            r"inject_fault: duration_ns 18446744073709551616 is not a positive",
        ),
        (
            lambda e: e.inject_fault("LIT1", "down", duration_ns=1.5),
            r"inject_fault: duration_ns 1\.5 is not a positive",
        ),
        (
            lambda e: e.inject_fault("LIT1", "down", at_ns=2**64),
            r"inject_fault: at_ns 18446744073709551616 is not a time",
        ),
        (
            lambda e: e.inject_crash("routr"),
            r"inject_crash: 'routr' is not 'router', 'desk', 'LIT1', 'LIT2' or a parent id "
            r"like 'P1'",
        ),
        (lambda e: e.inject_crash("P0"), r"inject_crash: 'P0' is not"),
        (lambda e: e.inject_crash("desk", at_ns=-1), r"inject_crash: at_ns -1 is not a time"),
    ],
)
def test_an_impossible_fault_or_crash_raises_at_the_call_and_nothing_is_sent(inject, message):
    with Engine(MARKET, seed=5) as engine:
        with pytest.raises(ValueError, match=message):
            inject(engine)
        engine.run_until(MARKET.session.open_ns + MINUTE)
        journal = engine.journal
        assert journal is not None
        assert not list(journal.messages(m.VenueStatusChanged))
        assert not list(journal.messages(m.ActorFailed))
        assert not engine.runtime.dead_letters


def test_faults_and_crashes_on_real_targets_are_still_sent():
    with Engine(MARKET, seed=5) as engine:
        open_ns = MARKET.session.open_ns
        engine.inject_fault("LIT2", m.FaultKind.DOWN, at_ns=open_ns, duration_ns=SECOND)
        engine.inject_crash("P7", at_ns=open_ns)  # a parent that may exist by then
        engine.inject_crash("LIT1", at_ns=open_ns)
        engine.run_until(open_ns + MINUTE)
        journal = engine.journal
        assert journal is not None
        assert {s.venue for s in journal.messages(m.VenueStatusChanged)} == {"LIT2"}
        assert [f.name for f in journal.messages(m.ActorFailed)] == ["LIT1"]


@pytest.mark.parametrize("bad", [None, "c1", {"client_order_id": "c1"}])
def test_submitting_what_is_not_a_client_order_raises_type_error_at_the_call(bad):
    with Engine(MARKET, seed=5) as engine:
        with pytest.raises(TypeError, match="submit takes a ClientOrder, not "):
            engine.submit(bad)
        engine.submit(order("ok", 100), at_ns=MARKET.session.open_ns + SECOND)
        engine.run_until(MARKET.session.open_ns + MINUTE)
        assert [r.client_order_id for r in engine.reports][:1] == ["ok"]
