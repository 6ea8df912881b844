"""Benchmarks of the actor runtime and the simulated market (``smart-exec bench``)."""

from __future__ import annotations

import time

from actors.actor import EngineActor
from actors.runtime import EXTERNAL, SimRuntime
from actors.simulated_market import start_market, subscribe
from actors.supervisor import ChildSpec, Supervisor
from engine.clock import MS, SECOND
from engine.config import SessionConfig, VenueConfig
from engine.instruments import Instrument
from engine.messages import CancelParentOrder, VenueKind
from engine.prices import to_price


class _Relay(EngineActor):
    """Forwards a counter to its peer until the counter runs out."""

    def __init__(self, runtime, name, generation=0, peer=""):
        super().__init__(runtime, name, generation)
        self.peer = peer

    def receive(self, msg, sender):
        n = int(msg.parent_id)
        if n:
            self.send(self.peer, CancelParentOrder(parent_id=str(n - 1)), delay_ns=1 * MS)


def sim_deliveries_per_s(hops: int = 20_000, pairs: int = 4) -> float:
    """Messages delivered per wall second by the simulated runtime (actor → actor)."""
    rt = SimRuntime(seed=1)
    sup = Supervisor(rt)
    for i in range(pairs):
        sup.start_child(ChildSpec(f"a{i}", _Relay, {"peer": f"b{i}"}))
        sup.start_child(ChildSpec(f"b{i}", _Relay, {"peer": f"a{i}"}))
    rt.run()
    for i in range(pairs):
        rt.send(EXTERNAL, f"a{i}", CancelParentOrder(parent_id=str(hops // pairs)), delay_ns=i)
    start = rt.stats["deliveries"]
    t0 = time.perf_counter()
    rt.run()
    wall = time.perf_counter() - t0
    delivered = rt.stats["deliveries"] - start
    rt.stop()
    return delivered / wall


def default_market() -> tuple[Instrument, SessionConfig, list[VenueConfig]]:
    instrument = Instrument(symbol="XYZ", ref_price=to_price("100"))
    venues = [VenueConfig(name=f"LIT{i}") for i in (1, 2, 3)] + [
        VenueConfig(name=f"DARK{i}", kind=VenueKind.DARK) for i in (1, 2)
    ]
    return instrument, SessionConfig(), venues


def sim_day_wall_s(hours: float = 6.5) -> float:
    """Wall seconds to simulate a trading day of 3 lit + 2 dark venues with background flow
    and a subscriber receiving all their market data."""
    instrument, session, venues = default_market()
    rt = SimRuntime(seed=1, start_ns=session.open_ns)
    sup = Supervisor(rt)
    names = start_market(rt, sup, instrument, session, venues, clients=["router"])
    rt.on_message("router", lambda msg, sender: None)
    subscribe(rt, "router", instrument.symbol, names)
    t0 = time.perf_counter()
    rt.run_until(session.open_ns + int(hours * 3600 * SECOND))
    wall = time.perf_counter() - t0
    rt.stop()
    return wall * 6.5 / hours


def brief_scenario_throughput(quick: bool = False) -> dict[str, float]:
    """The ``brief_vwap`` scenario end to end (desk → parents → router → venues → fills →
    recalibration → allocation → audit, and a day of simulated market): client orders
    fully processed per wall second. Quick mode cuts the day at 10:00."""
    import msgspec

    import scenarios
    from actors.scenario_runner import run_scenario
    from engine.messages import PlaceChildOrder
    from engine.scenario import load

    scenario = load(scenarios.path("brief_vwap"))
    if quick:
        scenario = msgspec.structs.replace(scenario, run_until="10:00")
    started = time.perf_counter()
    result = run_scenario(scenario)
    wall = time.perf_counter() - started
    children = sum(1 for _ in result.journal.messages(PlaceChildOrder))
    return {
        "brief_child_orders": children,
        "e2e_client_orders_per_s": round(result.client_orders / wall, 1),
        "brief_scenario_wall_s": round(wall, 2),
    }


def child_loop_throughput(quick: bool = False) -> dict[str, float]:
    """Child orders per wall second through the whole loop (parent → router → venue →
    fill → recalibrate → allocate → audit) when children dominate: 50 urgent TWAP
    parents of 5,000 shares over 10 simulated minutes on 3 lit venues, 1 s decisions.

    A child is a strategy slice (``PlaceChildOrder``); the router may place it as several
    orders at venues (a parallel sweep, a re-route after a timeout), also called child
    orders: ``venue_orders_per_s`` counts those (``PlaceVenueOrder``) in the
    same run."""
    from actors.api import Engine, MarketConfig
    from engine.audit.journal import Journal
    from engine.clock import MINUTE
    from engine.messages import (
        ClientOrder,
        Mandate,
        PlaceChildOrder,
        PlaceVenueOrder,
        Side,
        StrategyName,
        Urgency,
    )
    from engine.parent.order import ParentConfig

    instrument, session, venues = default_market()
    parents, minutes = (10, 3) if quick else (50, 10)
    trail = Journal(":memory:")
    engine = Engine(
        MarketConfig(instrument=instrument, venues=venues[:3], session=session),
        seed=3,
        audit=trail,
        parent=ParentConfig(decision_interval_ns=SECOND),
    )
    end = session.open_ns + minutes * MINUTE
    for k in range(parents):  # distinct end times: one parent each
        mandate = Mandate(strategy=StrategyName.TWAP, urgency=Urgency.HIGH, end_ns=end + k * SECOND)
        engine.submit(
            ClientOrder(
                source="OMS",
                account="A",
                client_order_id=f"b{k}",
                instrument=instrument.symbol,
                side=Side.BUY,
                quantity=5_000,
                mandate=mandate,
            ),
            at_ns=session.open_ns + SECOND,
        )
    engine.run_until(session.open_ns)
    started = time.perf_counter()
    engine.run_until(end + 2 * MINUTE)
    wall = time.perf_counter() - started
    engine.close()
    children = sum(1 for _ in trail.messages(PlaceChildOrder))
    venue_orders = sum(1 for _ in trail.messages(PlaceVenueOrder))
    return {
        "child_orders_per_s": round(children / wall, 1),
        "venue_orders_per_s": round(venue_orders / wall, 1),
    }


def run(quick: bool = False) -> dict[str, float]:
    return {
        "sim_deliveries_per_s": round(sim_deliveries_per_s(2_000 if quick else 20_000)),
        "sim_day_wall_s": round(sim_day_wall_s(0.05 if quick else 6.5), 3),
        **brief_scenario_throughput(quick),
        **child_loop_throughput(quick),
    }
