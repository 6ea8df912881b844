"""Run a scenario end to end on the real actors and simulated venues.

    result = run_scenario(load("scenarios/brief_vwap.toml"), seed=7, audit="run.sqlite")
    print(result.digest)

The run submits every client order at its time, injects the scenario's faults, drives
simulated time to the end, then closes the engine (the audit trail is flushed) and
computes the digest and TCA from the audit trail. ``run_baseline`` replays the same
client orders, on the same seeded market, as marketable orders sent straight to one lit
venue: the naive execution the engine is measured against. ``run_counterfactual`` runs
the same market and seed with no client order at all: what the market would have done
without us, the reference that takes the day's drift out of both (``docs/tca.md``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from actors.api import ROUTER, Engine, MarketConfig, new_trail
from actors.desk_actor import REPORTS
from actors.runtime import EXTERNAL, SimRuntime
from actors.simulated_market import start_market, subscribe
from actors.supervisor import Supervisor
from engine.audit.journal import Journal
from engine.clock import MINUTE, MS
from engine.desk.desk import EXCESS_SOURCE
from engine.market_view import MarketView
from engine.messages import (
    ClientOrder,
    ClientOrderRejected,
    ExecType,
    ExecutionReport,
    FaultKind,
    InjectActorFailure,
    InjectVenueFault,
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
from engine.tca.comparison import (
    Cost,
    Execution,
    OrderExecution,
    cost_vs_arrival,
    drift_adjusted_cost,
)
from engine.tca.from_trail import RunTCA, tca_from_journal
from engine.tca.metrics import MarketTape

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
    if scenario.many:
        peer = None if scenario.md_peer_ms is None else scenario.md_peer_ms * MS
        market = MarketConfig(
            instruments=scenario.instruments(),
            venues=venues,
            session=session,
            peer_md_interval_ns=peer,
        )
    else:
        market = MarketConfig(instrument=instrument, venues=venues, session=session)
    return Engine(
        market,
        seed=seed,
        audit=journal,
        router=scenario.router,
        desk=scenario.desk,
        parent=ParentConfig(vwap_profile=scenario.profile(seed)),
        threaded=threaded,
        relay_interval_ns=None if scenario.md_relay_ms is None else scenario.md_relay_ms * MS,
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
        mid = tca.tape_of(order.instrument).mid_at(at)
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


def horizon_ns(order: ClientOrder, scenario: Scenario) -> int:
    """When a client order's unfilled rest is marked: its mandate's end, else the close."""
    end = order.mandate.end_ns
    return end if end is not None else scenario.session.config().close_ns


def without_client_orders(scenario: Scenario) -> Scenario:
    """The same market, venue faults and crashes, with no client order."""
    return msgspec.structs.replace(scenario, orders=[], streams=[])


def run_counterfactual(scenario: Scenario, seed: int | None = None) -> MarketTape:
    """The market tape of ``scenario`` on ``seed`` without any client order: the venues
    as they are in the engine's run (``_baseline_market``), so the same price path up to
    where our first order would go, and what the market would have done without us."""
    seed = scenario.seed if seed is None else seed
    _, _, market = _naive_execution(without_client_orders(scenario), seed)
    return market


@dataclass
class Baseline:
    """The naive execution (each client order a marketable IOC straight to the primary
    lit venue at its arrival) and the market without any order of ours, on one seed."""

    orders: list[OrderExecution]  # every client order, in arrival order
    fees: int
    market: MarketTape  # the baseline run's market
    counterfactual: MarketTape

    def cost(self) -> Cost:
        """Shortfall vs arrival, the unfilled rest marked at the end price."""
        return cost_vs_arrival(self.orders, self.market, self.fees)

    def drift_adjusted_cost(self) -> Cost:
        return drift_adjusted_cost(self.orders, self.market, self.counterfactual, self.fees)


def run_baseline(
    scenario: Scenario, seed: int | None = None, counterfactual: MarketTape | None = None
) -> Baseline:
    """The baseline on the same seeded market (and the counterfactual market, unless
    given: it is the same for every execution of that scenario and seed)."""
    seed = scenario.seed if seed is None else seed
    if counterfactual is None:
        counterfactual = run_counterfactual(scenario, seed)
    orders, fees, market = _naive_execution(scenario, seed)
    return Baseline(orders=orders, fees=fees, market=market, counterfactual=counterfactual)


def _naive_execution(scenario: Scenario, seed: int) -> tuple[list[OrderExecution], int, MarketTape]:
    """The baseline's trader stands where the engine's router stands: the market is the
    engine's own, draw for draw, until the first order (``_baseline_market``)."""
    instrument, _, venues = scenario.market()
    primary = scenario.baseline.venue or next(v.name for v in venues if v.kind is VenueKind.LIT)
    rt = _baseline_market(scenario, seed)
    view = MarketView(instrument.symbol)
    market: list[MarketDataUpdated] = []
    orders = scenario.client_orders()
    ids = [f"B{i}-{o.source}-{o.client_order_id}" for i, (_, o) in enumerate(orders)]
    fills: dict[str, list[Execution]] = {oid: [] for oid in ids}
    arrived = iter(ids)  # submissions arrive in the order they were sent
    fees = 0

    def trader(msg: Message, sender: str) -> None:
        nonlocal fees
        if isinstance(msg, MarketDataUpdated):
            view.update(msg)
            market.append(msg)
        elif isinstance(msg, SubmitClientOrder):
            oid = next(arrived)
            if view.mid() is not None:  # no quote yet: nothing is marketable
                rt.send(ROUTER, primary, _marketable(primary, oid, msg.order))
        elif isinstance(msg, VenueOrderFilled):
            fills[msg.order_id].append(Execution(ts=msg.ts, quantity=msg.quantity, price=msg.price))
            fees += msg.fee

    rt.on_message(ROUTER, trader)
    subscribe(rt, ROUTER, instrument.symbol, [v.name for v in venues])  # as the router does
    for at, order in orders:
        rt.send(EXTERNAL, ROUTER, SubmitClientOrder(order=order), delay_ns=at - rt.now())
    _inject_faults(rt, scenario)
    rt.run_until(scenario.end_ns())
    rt.stop()
    executed = [
        OrderExecution(
            side=int(o.side),
            quantity=o.quantity,
            arrival_ns=at,
            end_ns=horizon_ns(o, scenario),
            fills=tuple(fills[oid]),
        )
        for (at, o), oid in zip(orders, ids, strict=True)
    ]
    return executed, fees, MarketTape.from_market_data(market)


def _baseline_market(scenario: Scenario, seed: int) -> SimRuntime:
    """The scenario's venues with the ids, links and seeds they have in an ``Engine``
    (ids come in creation order: the reports endpoint, the venues, then the router), so
    each venue draws the same random numbers as in the engine's run."""
    instrument, session, venues = scenario.market()
    rt = SimRuntime(seed=seed, start_ns=session.open_ns - MINUTE)
    rt.on_message(REPORTS, lambda msg, sender: None)
    engine = Supervisor(rt, "engine")
    market = Supervisor(rt, "venues", parent=engine)
    start_market(rt, market, instrument, session, venues, clients=[ROUTER])
    return rt


def _inject_faults(rt: SimRuntime, scenario: Scenario) -> None:
    """The scenario's venue faults and venue crashes, as ``Engine`` injects them."""
    venues = {v.name for v in scenario.venues}
    for f in scenario.faults:
        duration = int(f.duration_s * 1e9) if f.duration_s else None
        fault = InjectVenueFault(venue=f.venue, fault=FaultKind(f.fault), duration_ns=duration)
        rt.send(EXTERNAL, f.venue, fault, delay_ns=scenario.session.at(f.at) - rt.now())
    for c in scenario.crashes:
        if c.actor in venues:
            crash = InjectActorFailure(target=c.actor, reason=c.reason)
            rt.send(EXTERNAL, c.actor, crash, delay_ns=scenario.session.at(c.at) - rt.now())


def _marketable(venue: str, oid: str, order: ClientOrder) -> PlaceVenueOrder:
    return PlaceVenueOrder(
        venue=venue,
        order_id=oid,
        parent_id="baseline",
        child_id=oid,
        instrument=order.instrument,
        side=order.side,
        quantity=order.quantity,
        order_type=OrderType.MARKET,
        tif=TimeInForce.IOC,
    )
