"""Run a scenario end to end on the real actors and simulated venues.

    result = run_scenario(load("scenarios/brief_vwap.toml"), seed=7, audit="run.sqlite")
    print(result.digest)

The run submits every client order at its time, injects the scenario's faults, drives
simulated time to the end, then closes the engine (the audit trail is flushed) and
computes the digest and TCA from the audit trail. ``run_baseline`` replays the same
client orders, on the same seeded market, as marketable orders sent straight to one lit
venue: the naive execution the engine is measured against.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from actors.api import Engine, MarketConfig, new_trail
from actors.runtime import EXTERNAL, SimRuntime
from actors.simulated_market import start_market, subscribe
from actors.supervisor import Supervisor
from engine.audit.journal import Journal
from engine.clock import MINUTE
from engine.desk.desk import EXCESS_SOURCE
from engine.market_view import MarketView
from engine.messages import (
    ClientOrder,
    ClientOrderRejected,
    ExecType,
    ExecutionReport,
    MarketDataUpdated,
    Message,
    OrderType,
    PlaceVenueOrder,
    SubmitClientOrder,
    TimeInForce,
    VenueKind,
    VenueOrderFilled,
)
from engine.parent.order import ParentConfig
from engine.scenario import Scenario
from engine.tca.from_trail import RunTCA, tca_from_journal

Progress = Callable[[int, int, int, int], None]  # (now, end, client fills, orders in)


@dataclass
class ExecutionCost:
    """Client executions against the lit mid at each client order's arrival.
    cost_bps = (Σ side·q·(p − mid) + Σ fees) / Σ q·mid · 1e4; positive = cost."""

    quantity: int = 0
    ordered: int = 0
    signed_cost: int = 0  # Σ side·q·(p − mid), price units × shares
    fees: int = 0
    base: int = 0  # Σ q·mid

    def add(self, side: int, quantity: int, price: int, mid: int) -> None:
        self.quantity += quantity
        self.signed_cost += side * quantity * (price - mid)
        self.base += quantity * mid

    @property
    def cost_bps(self) -> float | None:
        if not self.base:
            return None
        return (self.signed_cost + self.fees) / self.base * 1e4

    @property
    def fill_rate(self) -> float:
        return self.quantity / self.ordered if self.ordered else 0.0


@dataclass
class ScenarioResult:
    scenario: Scenario
    seed: int
    journal: Journal
    digest: str
    reports: list[ExecutionReport | ClientOrderRejected]
    tca: RunTCA
    cost: ExecutionCost
    wall_s: float
    stats: dict[str, int]
    client_orders: int
    rejected: int
    excess: dict[str, tuple[int, int]] = field(default_factory=dict)
    interrupted: bool = False  # stopped before the scenario's end (``ended_ns``)
    ended_ns: int = 0  # the simulated time the run stopped at

    @property
    def fills(self) -> list[ExecutionReport]:
        return [
            r
            for r in self.reports
            if isinstance(r, ExecutionReport) and r.exec_type is ExecType.TRADE
        ]


def run_scenario(
    scenario: Scenario,
    seed: int | None = None,
    audit: str | Path | Journal = ":memory:",
    progress: Progress | None = None,
    threaded: bool = False,
    stop: Callable[[], bool] | None = None,
    on_report: Callable[[ExecutionReport | ClientOrderRejected], None] | None = None,
) -> ScenarioResult:
    """``stop``, asked between steps of simulated time, ends the run early when it says so
    (``result.interrupted``); the engine is closed and the trail flushed either way. An
    exception (a ``KeyboardInterrupt`` too) leaves the trail flushed and closed as an
    interrupted run's. ``audit``: a path, or a journal (an empty one, or one opened with
    ``resume=True`` to continue a killed run of this scenario and seed); ``on_report``
    gets each report as the engine's subscribers do."""
    seed = scenario.seed if seed is None else seed
    # the result reads the trail after the engine stops: the runner owns it (the caller
    # closes it: ``result.journal``), and it must be this run's alone
    journal = audit if isinstance(audit, Journal) else new_trail(str(audit))
    try:
        return _run_on(journal, scenario, seed, progress, threaded, stop, on_report)
    except BaseException:
        journal.close(complete=False)  # the caller never gets it: flushed and closed here
        raise


def _run_on(
    journal: Journal,
    scenario: Scenario,
    seed: int,
    progress: Progress | None,
    threaded: bool,
    stop: Callable[[], bool] | None,
    on_report: Callable[[ExecutionReport | ClientOrderRejected], None] | None = None,
) -> ScenarioResult:
    engine = _start_engine(scenario, seed, journal, threaded)
    if on_report is not None:
        engine.on_report(on_report)
    try:
        orders = scenario.client_orders()
        _schedule(engine, scenario, orders)
        started = time.perf_counter()
        interrupted = _drive(engine, scenario.end_ns(), orders, progress, stop)
        wall = time.perf_counter() - started
    finally:  # every actor stopped and the trail flushed, however the run ends
        engine.close()
    tca = tca_from_journal(journal)
    return ScenarioResult(
        scenario=scenario,
        seed=seed,
        journal=journal,
        digest=journal.digest(),
        reports=engine.reports,
        tca=tca,
        cost=_engine_cost(engine.reports, orders, tca),
        wall_s=wall,
        stats=dict(engine.runtime.stats),
        client_orders=len(orders),
        rejected=sum(isinstance(r, ClientOrderRejected) for r in engine.reports),
        excess=_excess(engine.reports),
        interrupted=interrupted,
        ended_ns=engine.now,
    )


def _start_engine(scenario: Scenario, seed: int, journal: Journal, threaded: bool) -> Engine:
    instrument, session, venues = scenario.market()
    return Engine(
        MarketConfig(instrument=instrument, venues=venues, session=session),
        seed=seed,
        audit=journal,
        router=scenario.router,
        desk=scenario.desk,
        parent=ParentConfig(vwap_profile=scenario.profile(seed)),
        threaded=threaded,
    )


def _schedule(engine: Engine, scenario: Scenario, orders: list[tuple[int, ClientOrder]]) -> None:
    """The scenario's client orders, venue faults and actor crashes, each at its time."""
    for at, order in orders:
        engine.submit(order, at_ns=at)
    for fault in scenario.faults:
        duration = int(fault.duration_s * 1e9) if fault.duration_s else None
        engine.inject_fault(
            fault.venue, fault.fault, at_ns=scenario.session.at(fault.at), duration_ns=duration
        )
    for crash in scenario.crashes:
        engine.inject_crash(crash.actor, at_ns=scenario.session.at(crash.at), reason=crash.reason)


def _drive(
    engine: Engine,
    end: int,
    orders: list[tuple[int, ClientOrder]],
    progress: Progress | None,
    stop: Callable[[], bool] | None,
) -> bool:
    """Simulate to ``end`` in steps of five simulated minutes, reporting progress; False
    once there, True if ``stop`` ended it before."""
    step = 5 * MINUTE
    while engine.now < end:
        if stop is not None and stop():
            return True
        engine.run_until(min(engine.now + step, end))
        if progress is not None:
            fills = sum(
                1
                for r in engine.reports
                if isinstance(r, ExecutionReport) and r.exec_type is ExecType.TRADE
            )
            arrived = sum(1 for at, _ in orders if at <= engine.now)
            progress(engine.now, end, fills, arrived)
    return False


def _excess(reports: Sequence[Message]) -> dict[str, tuple[int, int]]:
    """Excess-account executions (never a client's), by parent: (quantity, notional)."""
    out: dict[str, tuple[int, int]] = {}
    for r in reports:
        if isinstance(r, ExecutionReport) and r.source == EXCESS_SOURCE and r.last_qty:
            q, n = out.get(r.client_order_id, (0, 0))
            out[r.client_order_id] = (q + r.last_qty, n + r.last_qty * r.last_price)
    return out


def _engine_cost(
    reports: Sequence[Message], orders: list[tuple[int, ClientOrder]], tca: RunTCA
) -> ExecutionCost:
    arrival = {(o.source, o.client_order_id): (at, o) for at, o in orders}
    cost = ExecutionCost(ordered=_accepted_quantity(reports, orders))
    for r in reports:
        if not isinstance(r, ExecutionReport) or r.exec_type is not ExecType.TRADE:
            continue
        found = arrival.get((r.source, r.client_order_id))
        if found is None:
            continue  # the excess account
        at, order = found
        mid = tca.tape.mid_at(at)
        if mid is not None:
            cost.add(int(order.side), r.last_qty, r.last_price, int(mid))
    cost.fees = sum(f.fill.fee for p in tca.parents for f in p.rows)
    return cost


def _accepted_quantity(reports: Sequence[Message], orders: list[tuple[int, ClientOrder]]) -> int:
    """Shares the engine took on: client orders intake accepted (an ExecutionReport NEW),
    not the ones it rejected, which were never working (a re-used id counts once)."""
    accepted = {
        (r.source, r.client_order_id)
        for r in reports
        if isinstance(r, ExecutionReport) and r.exec_type is ExecType.NEW
    }
    total = 0
    for _, o in orders:
        key = (o.source, o.client_order_id)
        if key in accepted:
            accepted.discard(key)
            total += o.quantity
    return total


# ------------------------------------------------------------------------- baseline


def run_baseline(scenario: Scenario, seed: int | None = None) -> ExecutionCost:
    """Each client order as a marketable IOC straight to the primary lit venue, at its
    arrival time, on the same seeded market; cost against the lit mid at arrival."""
    seed = scenario.seed if seed is None else seed
    instrument, session, venues = scenario.market()
    primary = scenario.baseline.venue or next(v.name for v in venues if v.kind is VenueKind.LIT)
    rt = SimRuntime(seed=seed, start_ns=session.open_ns - MINUTE)
    sup = Supervisor(rt, "baseline")
    names = start_market(rt, sup, instrument, session, venues, clients=["trader"])
    view = MarketView(instrument.symbol)
    orders = scenario.client_orders()
    cost = ExecutionCost(ordered=sum(o.quantity for _, o in orders))
    pending: dict[str, tuple[int, int]] = {}  # venue order id → (side, arrival mid)

    def trader(msg: Message, sender: str) -> None:
        if isinstance(msg, MarketDataUpdated):
            view.update(msg)
        elif isinstance(msg, SubmitClientOrder):
            order, mid = msg.order, view.mid()
            if mid is None:
                return
            oid = f"B-{order.source}-{order.client_order_id}"
            pending[oid] = (int(order.side), mid)
            rt.send(
                "trader",
                primary,
                PlaceVenueOrder(
                    venue=primary,
                    order_id=oid,
                    parent_id="baseline",
                    child_id=oid,
                    instrument=order.instrument,
                    side=order.side,
                    quantity=order.quantity,
                    order_type=OrderType.MARKET,
                    tif=TimeInForce.IOC,
                ),
            )
        elif isinstance(msg, VenueOrderFilled):
            side, mid = pending[msg.order_id]
            cost.add(side, msg.quantity, msg.price, mid)
            cost.fees += msg.fee

    rt.on_message("trader", trader)
    subscribe(rt, "trader", instrument.symbol, names)
    for at, order in orders:
        rt.send(EXTERNAL, "trader", SubmitClientOrder(order=order), delay_ns=at - rt.now())
    rt.run_until(scenario.end_ns())
    rt.stop()
    return cost
