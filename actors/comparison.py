"""Routing logics against the naive baseline over many seeds, with the day's drift out.

    rows = compare([("brief_vwap", load(path))], logics=[SCENARIO_LOGIC], seeds=6)
    print(format_table(rows))

Per scenario and seed, three kinds of run on the same seeded market: the counterfactual
(no client order: what the market did without us), the baseline (each client order a
marketable IOC to the primary venue) and the engine under each routing logic. Every
figure of one seed comes from those runs' fills and market tapes through
``engine.tca.comparison``; a row is the mean over the seeds, the saving with its
standard error. Seeds run in worker processes (``jobs``); the rows do not depend on it.
"""

from __future__ import annotations

import dataclasses
import functools
import multiprocessing
import weakref
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import msgspec

from actors.scenario_runner import (
    Baseline,
    ScenarioResult,
    horizon_ns,
    run_baseline,
    run_counterfactual,
    run_scenario,
)
from engine import messages as m
from engine.clock import SECOND
from engine.desk.desk import EXCESS_SOURCE
from engine.messages import RoutingLogic
from engine.scenario import Scenario
from engine.tca.comparison import (
    ChildFill,
    ChildPlaced,
    ChildSpell,
    Cost,
    Execution,
    OrderExecution,
    child_spells,
    cost_vs_arrival,
    cost_vs_interval_vwap,
    drift_adjusted_cost,
    estimate,
    market_move_bps,
    median_time_to_fill,
)

_T = TypeVar("_T")


@dataclass(frozen=True)
class Logic:
    """How the engine routes in one column: a routing logic for every mandate (None: as
    the scenario says) and whether the router may over-allocate (None: as it says)."""

    name: str
    routing: RoutingLogic | None = None
    overallocate: bool | None = None


SCENARIO_LOGIC = Logic("scenario")
LOGICS: tuple[Logic, ...] = (
    Logic("sequential", RoutingLogic.SEQUENTIAL, overallocate=False),
    Logic("parallel", RoutingLogic.PARALLEL, overallocate=False),
    Logic("liquidity_seeking", RoutingLogic.LIQUIDITY_SEEKING, overallocate=False),
    Logic("parallel+overalloc", RoutingLogic.PARALLEL, overallocate=True),
)


def logic_named(name: str) -> Logic:
    """``LookupError`` names the known logics."""
    for logic in (SCENARIO_LOGIC, *LOGICS):
        if logic.name == name:
            return logic
    known = ", ".join(lg.name for lg in (SCENARIO_LOGIC, *LOGICS))
    raise LookupError(f"unknown logic {name!r} (one of {known})")


def with_logic(scenario: Scenario, logic: Logic) -> Scenario:
    """The same scenario with every mandate routed by ``logic``."""
    if logic.routing is None and logic.overallocate is None:
        return scenario

    def route(mandate):
        if mandate is None or logic.routing is None:
            return mandate
        return msgspec.structs.replace(mandate, routing=logic.routing)

    router = scenario.router
    if logic.overallocate is not None:
        router = msgspec.structs.replace(router, overallocate=logic.overallocate)
    return msgspec.structs.replace(
        scenario,
        mandate=route(scenario.mandate),
        orders=[msgspec.structs.replace(o, mandate=route(o.mandate)) for o in scenario.orders],
        streams=[msgspec.structs.replace(s, mandate=route(s.mandate)) for s in scenario.streams],
        router=router,
    )


# -------------------------------------------------------------------- one seed


@dataclass(frozen=True)
class SeedFigures:
    """One execution of one seed against that seed's baseline and counterfactual market."""

    seed: int
    cost_vs_arrival_bps: float | None  # shortfall: fills, unfilled at the end price, fees
    cost_vs_vwap_bps: float | None  # fills vs interval VWAP without our own fills
    drift_adjusted_cost_bps: float | None
    market_drift_bps: float | None  # the counterfactual's move over our fills: never ours
    opportunity_cost_bps: float | None
    fees_bps: float | None  # net of rebates, in the cost above
    baseline_cost_bps: float | None
    baseline_drift_adjusted_cost_bps: float | None
    baseline_completion_bps: float | None  # in the above: buying its must-complete rest
    baseline_filled: int
    baseline_ordered: int
    filled: int
    ordered: int
    passive_shares: int  # filled shares of passive-tactic children ...
    passive_taker_shares: int  # ... of which filled as taker
    child_spells: tuple[ChildSpell, ...]  # per child: placement → filled, or → its end
    children: int
    excess_shares: int

    @property
    def saving_bps(self) -> float | None:
        """Baseline cost minus ours, both vs arrival (the drift included)."""
        return _difference(self.baseline_cost_bps, self.cost_vs_arrival_bps)

    @property
    def drift_adjusted_saving_bps(self) -> float | None:
        return _difference(self.baseline_drift_adjusted_cost_bps, self.drift_adjusted_cost_bps)


def _difference(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _once_per_run(func: Callable[..., _T]) -> Callable[..., _T]:
    """``func`` computed once for the same run (and baseline): a run's summary, its HTML
    report and its comparison each ask for the same figures, and each reading walks the
    run's reports or trail. The last arguments are held weakly, checked by identity."""
    last: list[Any] = []  # [argument refs, value]

    @functools.wraps(func)
    def once(*args: Any) -> _T:
        if (
            last
            and len(last[0]) == len(args)
            and all(ref() is arg for ref, arg in zip(last[0], args, strict=True))
        ):
            return cast(_T, last[1])
        value = func(*args)
        last[:] = [[weakref.ref(arg) for arg in args], value]
        return value

    return once


@_once_per_run
def engine_orders(result: ScenarioResult) -> list[OrderExecution]:
    """The client orders the engine accepted (a re-used id counts once), with their
    fills; the excess account is not a client."""
    accepted = {
        (r.source, r.client_order_id)
        for r in result.reports
        if isinstance(r, m.ExecutionReport) and r.exec_type is m.ExecType.NEW
    }
    fills: dict[tuple[str, str], list[Execution]] = {}
    for r in result.fills:
        if r.source != EXCESS_SOURCE and r.last_qty:
            execution = Execution(ts=r.ts, quantity=r.last_qty, price=r.last_price)
            fills.setdefault((r.source, r.client_order_id), []).append(execution)
    out = []
    for at, order in result.scenario.client_orders():
        key = (order.source, order.client_order_id)
        if key in accepted:
            accepted.discard(key)
            out.append(
                OrderExecution(
                    side=int(order.side),
                    quantity=order.quantity,
                    arrival_ns=at,
                    end_ns=horizon_ns(order, result.scenario),
                    fills=tuple(fills.get(key, ())),
                    must_complete=order.mandate.must_complete,
                )
            )
    return out


@dataclass(frozen=True)
class _Children:
    placed: dict[str, ChildPlaced]
    fills: list[ChildFill]
    ends: dict[str, int]  # child id → when it was done
    market_fills: list[Execution]  # every venue fill of ours (crosses never reach one)


@_once_per_run
def _children(result: ScenarioResult) -> _Children:
    placed: dict[str, ChildPlaced] = {}
    ends: dict[str, int] = {}
    fills, market = [], []
    kinds = (m.PlaceChildOrder, m.ChildOrderFilled, m.ChildOrderDone)
    for msg in result.journal.messages(*kinds):
        if isinstance(msg, m.ChildOrderDone):
            ends.setdefault(msg.child_id, msg.ts)
        elif isinstance(msg, m.PlaceChildOrder):
            placed.setdefault(
                msg.child_id,
                ChildPlaced(
                    child_id=msg.child_id, ts=msg.ts, quantity=msg.quantity, tactic=msg.tactic
                ),
            )
        elif isinstance(msg, m.ChildOrderFilled):
            fills.append(
                ChildFill(
                    child_id=msg.child_id, ts=msg.ts, quantity=msg.quantity, liquidity=msg.liquidity
                )
            )
            if msg.liquidity is not m.Liquidity.INTERNAL:
                market.append(Execution(ts=msg.ts, quantity=msg.quantity, price=msg.price))
    return _Children(placed=placed, fills=fills, ends=ends, market_fills=market)


def baseline_costs(scenario: Scenario, baseline: Baseline) -> tuple[Cost, Cost]:
    """The baseline's shortfall vs arrival and drift-adjusted, each client order's rest
    owed as the engine's is (``OrderExecution.must_complete``): its orders are the
    scenario's client orders, in the same order."""
    orders = [
        dataclasses.replace(executed, must_complete=order.mandate.must_complete)
        for executed, (_, order) in zip(baseline.orders, scenario.client_orders(), strict=True)
    ]
    raw = cost_vs_arrival(orders, baseline.market, baseline.fees)
    return raw, drift_adjusted_cost(orders, baseline.market, baseline.counterfactual, baseline.fees)


def engine_fees(result: ScenarioResult) -> int:
    return sum(f.fill.fee for p in result.tca.parents for f in p.rows)


@_once_per_run
def execution_cost(result: ScenarioResult) -> tuple[Cost, float | None]:
    """The engine's shortfall vs arrival, and its fills' cost vs the interval VWAP
    without our own fills (bps)."""
    orders = engine_orders(result)
    tape = result.tca.tape
    vwap = cost_vs_interval_vwap(orders, tape, _children(result).market_fills)
    return cost_vs_arrival(orders, tape, engine_fees(result)), vwap


@_once_per_run
def measure(result: ScenarioResult, baseline: Baseline) -> SeedFigures:
    """The figures of one engine run against its seed's baseline and counterfactual."""
    orders = engine_orders(result)
    tape = result.tca.tape
    fees = engine_fees(result)
    raw = cost_vs_arrival(orders, tape, fees)
    adjusted = drift_adjusted_cost(orders, tape, baseline.counterfactual, fees)
    base, base_adjusted = baseline_costs(result.scenario, baseline)
    kids = _children(result)
    passive = [f for f in kids.fills if _is_passive(kids.placed.get(f.child_id))]
    return SeedFigures(
        seed=result.seed,
        cost_vs_arrival_bps=raw.bps,
        cost_vs_vwap_bps=cost_vs_interval_vwap(orders, tape, kids.market_fills),
        drift_adjusted_cost_bps=adjusted.bps,
        market_drift_bps=market_move_bps(orders, baseline.counterfactual),
        opportunity_cost_bps=raw.opportunity_bps,
        fees_bps=raw.fees_bps,
        baseline_cost_bps=base.bps,
        baseline_drift_adjusted_cost_bps=base_adjusted.bps,
        baseline_completion_bps=base_adjusted.completion_bps,
        baseline_filled=base.filled,
        baseline_ordered=base.ordered,
        filled=raw.filled,
        ordered=raw.ordered,
        passive_shares=sum(f.quantity for f in passive),
        passive_taker_shares=sum(f.quantity for f in passive if f.liquidity is m.Liquidity.TAKER),
        child_spells=tuple(child_spells(kids.placed, kids.fills, kids.ends)),
        children=len(kids.placed),
        excess_shares=sum(q for q, _ in result.excess.values()),
    )


def _is_passive(child: ChildPlaced | None) -> bool:
    return child is not None and child.tactic is m.Tactic.PASSIVE


def run_seed(scenario: Scenario, seed: int, logics: Sequence[Logic]) -> list[SeedFigures]:
    """One seed: its counterfactual and baseline once, then the engine per logic."""
    counterfactual = run_counterfactual(scenario, seed)
    baseline = run_baseline(scenario, seed, counterfactual=counterfactual)
    out = []
    for logic in logics:
        result = run_scenario(with_logic(scenario, logic), seed=seed)
        try:
            out.append(measure(result, baseline))
        finally:
            result.journal.close()
    return out


# ------------------------------------------------------------------ across seeds


@dataclass(frozen=True)
class Row:
    """One scenario and logic over its seeds: means, the saving's spread, pooled ratios."""

    scenario: str
    logic: str
    seeds: int  # how many: first_seed, first_seed + 1, ...
    first_seed: int | None
    cost_vs_arrival_bps: float | None
    cost_vs_vwap_bps: float | None
    drift_adjusted_cost_bps: float | None
    opportunity_cost_bps: float | None
    fees_bps: float | None
    market_drift_bps: float | None
    baseline_cost_bps: float | None
    baseline_drift_adjusted_cost_bps: float | None
    baseline_completion_bps: float | None
    baseline_fill_ratio: float | None
    saving_bps: float | None
    saving_se_bps: float | None
    drift_adjusted_saving_bps: float | None
    drift_adjusted_saving_se_bps: float | None
    drift_adjusted_saving_ci95_bps: list[float] | None
    passive_taker_share: float | None
    fill_ratio: float | None
    median_child_fill_s: float | None  # Kaplan–Meier: children cancelled first censored
    median_child_fill_s_by_tactic: dict[str, float | None]
    children: float
    excess_shares: float


def _mean(values: Sequence[float | None]) -> float | None:
    e = estimate([v for v in values if v is not None])
    return None if e is None else e.mean


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def summarize(scenario: str, logic: str, figures: Sequence[SeedFigures]) -> Row:
    def mean(name: str) -> float | None:
        return _mean([getattr(f, name) for f in figures])

    spells = [s for f in figures for s in f.child_spells]
    raw = estimate([v for f in figures if (v := f.saving_bps) is not None])
    adjusted = estimate([v for f in figures if (v := f.drift_adjusted_saving_bps) is not None])
    interval = None
    if adjusted is not None and adjusted.low is not None and adjusted.high is not None:
        interval = [adjusted.low, adjusted.high]
    return Row(
        scenario=scenario,
        logic=logic,
        seeds=len(figures),
        first_seed=min((f.seed for f in figures), default=None),
        cost_vs_arrival_bps=mean("cost_vs_arrival_bps"),
        cost_vs_vwap_bps=mean("cost_vs_vwap_bps"),
        drift_adjusted_cost_bps=mean("drift_adjusted_cost_bps"),
        opportunity_cost_bps=mean("opportunity_cost_bps"),
        fees_bps=mean("fees_bps"),
        market_drift_bps=mean("market_drift_bps"),
        baseline_cost_bps=mean("baseline_cost_bps"),
        baseline_drift_adjusted_cost_bps=mean("baseline_drift_adjusted_cost_bps"),
        baseline_completion_bps=mean("baseline_completion_bps"),
        baseline_fill_ratio=_ratio(
            sum(f.baseline_filled for f in figures), sum(f.baseline_ordered for f in figures)
        ),
        saving_bps=None if raw is None else raw.mean,
        saving_se_bps=None if raw is None else raw.se,
        drift_adjusted_saving_bps=None if adjusted is None else adjusted.mean,
        drift_adjusted_saving_se_bps=None if adjusted is None else adjusted.se,
        drift_adjusted_saving_ci95_bps=interval,
        passive_taker_share=_ratio(
            sum(f.passive_taker_shares for f in figures), sum(f.passive_shares for f in figures)
        ),
        fill_ratio=_ratio(sum(f.filled for f in figures), sum(f.ordered for f in figures)),
        median_child_fill_s=_seconds(median_time_to_fill(spells)),
        median_child_fill_s_by_tactic={
            t.value: _seconds(median_time_to_fill(s for s in spells if s.tactic is t))
            for t in sorted({s.tactic for s in spells}, key=lambda t: t.value)
        },
        children=sum(f.children for f in figures) / len(figures) if figures else 0.0,
        excess_shares=sum(f.excess_shares for f in figures) / len(figures) if figures else 0.0,
    )


def _seconds(ns: float | None) -> float | None:
    return None if ns is None else ns / SECOND


_Task = tuple[Scenario, int, tuple[Logic, ...]]


def _seed_task(task: _Task) -> list[SeedFigures]:
    scenario, seed, logics = task
    return run_seed(scenario, seed, logics)


def compare(
    scenarios: Sequence[tuple[str, Scenario]],
    logics: Sequence[Logic] = (SCENARIO_LOGIC,),
    seeds: int = 1,
    first_seed: int = 1,
    jobs: int = 1,
    done: Callable[[int, int], None] | None = None,
) -> list[Row]:
    """A row per (scenario, logic), scenarios then logics in the order given, over seeds
    ``first_seed .. first_seed + seeds - 1``; each (scenario, seed) is one task, run in
    ``jobs`` worker processes. ``done(finished, total)`` after each task."""
    tasks: list[_Task] = [
        (scenario, seed, tuple(logics))
        for _, scenario in scenarios
        for seed in range(first_seed, first_seed + seeds)
    ]
    results = list(_run_tasks(tasks, jobs, done))
    rows = []
    for i, (label, _) in enumerate(scenarios):
        per_seed = results[i * seeds : (i + 1) * seeds]
        for k, logic in enumerate(logics):
            rows.append(summarize(label, logic.name, [figures[k] for figures in per_seed]))
    return rows


def _run_tasks(
    tasks: list[_Task], jobs: int, done: Callable[[int, int], None] | None
) -> Iterator[list[SeedFigures]]:
    """Results in task order whatever the number of workers; a fresh interpreter per
    worker (spawn), so no actor thread or lock is ever inherited by a fork."""
    mapped: Iterator[list[SeedFigures]]
    if jobs <= 1 or len(tasks) <= 1:
        mapped = map(_seed_task, tasks)
        executor = None
    else:
        executor = ProcessPoolExecutor(
            max_workers=min(jobs, len(tasks)), mp_context=multiprocessing.get_context("spawn")
        )
        mapped = executor.map(_seed_task, tasks)
    try:
        for finished, figures in enumerate(mapped, 1):
            if done is not None:
                done(finished, len(tasks))
            yield figures
    finally:
        if executor is not None:
            executor.shutdown(cancel_futures=True)


__all__ = [
    "LOGICS",
    "SCENARIO_LOGIC",
    "Logic",
    "Row",
    "SeedFigures",
    "baseline_costs",
    "compare",
    "engine_fees",
    "engine_orders",
    "execution_cost",
    "logic_named",
    "measure",
    "run_seed",
    "summarize",
    "with_logic",
]
