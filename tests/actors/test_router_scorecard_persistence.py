"""The venue scorecard persists with the audit trail: a router restarted by its supervisor
comes back with what it learnt, and a later run seeded with an earlier run's scorecard
starts from its statistics. Real actors, simulated venues, deterministic."""

import msgspec

from actors.api import ROUTER, Engine, MarketConfig
from actors.runtime import EXTERNAL
from engine import messages as m
from engine.audit.journal import Journal
from engine.clock import MINUTE, MS, US
from engine.config import SessionConfig, VenueConfig
from engine.instruments import Instrument
from engine.prices import to_price
from engine.routing.persistence import latest_scorecard, learnt_only
from engine.routing.scorecard import Scorecard

SESSION = SessionConfig()
OPEN = SESSION.open_ns
MARKET = MarketConfig(
    instrument=Instrument(symbol="XYZ", ref_price=to_price("50.00")),
    venues=[
        VenueConfig(name="LIT1"),
        VenueConfig(name="LIT2", latency_ns=300 * US),
        VenueConfig(name="DARK1", kind=m.VenueKind.DARK),
    ],
    session=SESSION,
)


def buy(client_order_id: str, quantity: int = 6_000) -> m.ClientOrder:
    return m.ClientOrder(
        source="OMS",
        account="A1",
        client_order_id=client_order_id,
        instrument="XYZ",
        side=m.Side.BUY,
        quantity=quantity,
        mandate=m.Mandate(
            strategy=m.StrategyName.TWAP,
            urgency=m.Urgency.HIGH,
            end_ns=OPEN + 10 * MINUTE,
            routing=m.RoutingLogic.PARALLEL,
        ),
    )


def router_actor(engine: Engine):
    return engine.runtime.ref(ROUTER).actor  # inline runtime: the live actor object


def poison() -> m.PlaceChildOrder:
    """A malformed command (no quantity: msgspec does not validate on construction):
    the router's handler raises on it, as on any bug, and its supervisor restarts it."""
    return m.PlaceChildOrder(
        parent_id="poison", child_id="poison", instrument="XYZ", side=m.Side.BUY, quantity=None
    )  # type: ignore[arg-type]


def total_orders(state) -> int:
    return sum(v.orders for v in state.venues)


def timeless(state):
    """A scorecard state without what depends on when the router received a message (not
    journaled: a restart estimates it): ack and first-fill latency sums, the open orders'
    placement times (kept), pending markouts' due times."""
    return (
        [msgspec.structs.replace(v, ack_ns_sum=0, first_fill_ns_sum=0) for v in state.venues],
        state.statuses,
        [k for k, _ in state.open_orders],
        [msgspec.structs.replace(x, due_ns=0) for x in state.markouts],
        state.applied_books,
    )


def test_router_restarted_by_its_supervisor_comes_back_with_its_scorecard():
    """Its last save, and every order, venue event and market data update since (a crash
    just before a periodic save must not lose the minute before it)."""
    with Engine(MARKET, seed=3) as engine:
        engine.submit(buy("c1"), at_ns=OPEN)
        crash_at = OPEN + 4 * MINUTE + 59_500 * MS  # just before a periodic save
        engine.run_until(crash_at - 1)
        before = router_actor(engine)
        saved = latest_scorecard(engine.journal, ROUTER)
        assert saved is not None and total_orders(saved) > 0  # it has learnt something
        live = before.obj.router.scorecard.to_state()
        assert total_orders(live) > total_orders(saved)  # and more since its last save

        engine.runtime.send(EXTERNAL, ROUTER, poison(), delay_ns=crash_at - engine.now)
        engine.run_until(crash_at)  # the crash wave: failure, restart, restore

        after = router_actor(engine)
        assert after is not before and after.generation == 1
        failed = list(engine.journal.messages(m.ActorFailed))
        assert [f.name for f in failed] == [ROUTER]
        assert [r.name for r in engine.journal.messages(m.ActorRestarted)] == [ROUTER]
        # What the old instance had learnt when it crashed: counts, fills, fees, open
        # orders, markouts, outflows, venue status, exactly; latencies estimated.
        restored = after.obj.router.scorecard.to_state()
        assert timeless(restored) == timeless(live)
        assert latest_scorecard(engine.journal, ROUTER) == saved  # nothing saved since

        engine.run_until(crash_at + 2 * MINUTE)  # and keeps learning (market data) from there
        later = latest_scorecard(engine.journal, ROUTER)
        assert later != saved and total_orders(later) >= total_orders(restored)


def test_a_restarted_routers_scorecard_counts_every_order_and_fill_of_the_run():
    """With a crash just before a periodic save, the scorecard still ends the run with every
    order and filled share the journal holds, and no order open for good."""
    for crash in (False, True):
        with Engine(MARKET, seed=3) as engine:
            engine.submit(buy("c1"), at_ns=OPEN)
            crash_at = OPEN + 4 * MINUTE + 59_500 * MS
            if crash:
                engine.run_until(crash_at - 1)
                engine.runtime.send(EXTERNAL, ROUTER, poison(), delay_ns=crash_at - engine.now)
            engine.run_until(OPEN + 12 * MINUTE)
            state = router_actor(engine).obj.router.scorecard.to_state()
            assert router_actor(engine).generation == int(crash)
            placed = sum(1 for _ in engine.journal.messages(m.PlaceVenueOrder))
            filled = sum(f.quantity for f in engine.journal.messages(m.VenueOrderFilled))
            assert total_orders(state) == placed
            assert sum(v.fee_shares for v in state.venues) == filled
            assert state.open_orders == []


def test_a_second_run_starts_from_the_first_runs_scorecard(tmp_path):
    first_audit = tmp_path / "first.sqlite"
    with Engine(MARKET, seed=3, audit=str(first_audit)) as engine:
        engine.submit(buy("c1"), at_ns=OPEN)
        engine.run_until(OPEN + 12 * MINUTE)
        final_in_memory = router_actor(engine).obj.router.scorecard.to_state()
    engine.journal.close()
    with Journal(str(first_audit), readonly=True) as journal:
        saves = list(journal.messages(m.ScorecardSaved))
        learnt = latest_scorecard(journal)
    assert saves[-1].reason == "stop" and len(saves) > 5  # periodic, then at stop
    assert learnt == final_in_memory  # the stop save is the router's final state
    assert total_orders(learnt) > 0

    with Engine(MARKET, seed=4, scorecard=first_audit) as engine:
        seeded = router_actor(engine).obj.router.scorecard
        assert seeded.to_state() == learnt_only(learnt)  # statistics, not the old session
        assert not learnt_only(learnt).open_orders and not learnt_only(learnt).markouts
        engine.submit(buy("c2"), at_ns=OPEN)
        engine.run_until(OPEN + MINUTE)
        first = next(engine.journal.messages(m.RouteDecided))

    # The first routing decision of the second run already uses the first run's figures.
    carried = Scorecard.from_state(learnt_only(learnt))
    blank = Scorecard()
    for venue, values in first.scorecard.items():
        if venue not in {v.name for v in MARKET.venues}:
            continue  # planner-level entries, not a venue's scorecard
        expected = carried.stats(venue, "XYZ").fill_prob()
        assert values["fill_prob"] == round(expected, 6)
    assert any(
        carried.stats(v.name, "XYZ").fill_prob() != blank.stats(v.name, "XYZ").fill_prob()
        for v in MARKET.venues
    )


def test_periodic_scorecard_saves_keep_the_run_deterministic():
    def run(seed: int) -> tuple[str, int]:
        with Engine(MARKET, seed=seed) as engine:
            engine.submit(buy("c1"), at_ns=OPEN)
            engine.run_until(OPEN + 6 * MINUTE)
        saves = sum(1 for _ in engine.journal.messages(m.ScorecardSaved))
        return engine.journal.digest(), saves

    a, b = run(5), run(5)
    assert a == b and a[1] >= 7  # one a minute from the start, and one at stop
