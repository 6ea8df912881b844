"""Execution strategies on the simulated market, with the real actors.

Everything runs through the embedded ``Engine`` (desk, parent, router and venue actors on
the deterministic simulated runtime) and is judged from the audit trail only: the
parent's ``ScheduleRecalibrated`` decisions, its ``PlaceChildOrder`` commands, the
router's ``PlaceVenueOrder``/``ReplaceVenueOrder`` and the market tape the router records
(``MarketDataUpdated``). Two markets, each one engine run shared by the tests below:

- quiet: 2 lit venues with background flow at rate_scale 0.05, and a dark pool;
- busy: the same venues at rate_scale 0.3 (the library's "realistic mid-cap" default),
  a different seed.

On each, one after the other (so no order trades against or beside another, except the
tight-limit orders below which are deliberately kept out of the market by their limit):

    09:30-11:00  VWAP buy 6,000            must complete, wide limit
    11:00-11:30  POV buy (10 %), best effort, wide limit
    11:30-11:50  TWAP sell 3,000           must complete, wide limit
                 + 11:45-11:50 a must-complete TWAP sell limited 50 ticks above the offers
    11:50-12:10  IS buy 3,000 (high urgency) must complete, wide limit
                 + 12:05-12:10 a must-complete TWAP buy limited 50 ticks below the bids

The tight-limit orders are set from the touch just before they start, 50 ticks behind it,
so their limits bind throughout: every decision is behind, wants to cross the spread (and
at the end sweeps 2 ticks through it, must-complete) and has to be held at the limit (a
background market order sweeping a thin simulated book may still reach the resting child).
They make "no child ever breaches the limit" a real test rather than a vacuous one (the
wide limits of the other orders never come close).

A third market (``scenarios/strategies_starved.toml``) starves a TWAP: its only lit venue
goes down (or refuses every order) for 10 minutes, and the journal shows the parent
falling behind, going aggressive with a negative deviation, and catching up.
"""

from __future__ import annotations

import bisect
import functools
import json
from dataclasses import dataclass, field
from importlib import resources
from itertools import pairwise

import msgspec
import pytest

import scenarios
from actors.api import Engine, MarketConfig
from actors.scenario_runner import run_scenario
from engine.audit.journal import Journal
from engine.clock import MINUTE, SECOND
from engine.config import FlowConfig, SessionConfig, VenueConfig
from engine.instruments import Instrument
from engine.messages import (
    ClientOrder,
    ExecType,
    ExecutionReport,
    ExpiryReason,
    Mandate,
    MarketDataUpdated,
    OrderType,
    OrdStatus,
    ParentOrderCreated,
    ParentOrderFilled,
    ParentState,
    ParentStateChanged,
    PlaceChildOrder,
    PlaceVenueOrder,
    ReplaceVenueOrder,
    ScheduleRecalibrated,
    Side,
    StrategyName,
    Tactic,
    Urgency,
    VenueKind,
    VenueOrderFilled,
    VenueStatus,
)
from engine.parent.order import ParentConfig
from engine.prices import to_price
from engine.scenario import load

SESSION = SessionConfig()  # 2026-11-23, 09:30-16:00 New York
OPEN = SESSION.open_ns
SYMBOL = "XYZ"
INSTRUMENT = Instrument(symbol=SYMBOL, ref_price=to_price("100.00"))
TICK = INSTRUMENT.tick
PARENT = ParentConfig()  # the engine's defaults: what the tolerances below derive from
STARVED = scenarios.path("strategies_starved")


def at(minutes: float) -> int:
    """Session time: minutes after the 09:30 open."""
    return OPEN + int(minutes * MINUTE)


# The time line of each market run (minutes after the open).
VWAP_START, VWAP_END = 0, 90  # three 30-minute bins of the profile
POV_START, POV_END = 90, 120
SELL_START, SELL_END = 120, 140
BUY_START, BUY_END = 140, 160
TIGHT_START = 5  # the tight-limit orders work the last 5 minutes of those windows
TIGHT_TICKS = 50  # ... limited this far behind the touch: out of reach in 5 minutes
RUN_END = BUY_END + 3  # past the last end time: nothing may happen after it

POV_RATE = 0.10
POV_MAX = 0.12
POV_MIN = POV_RATE * 0.8  # engine/strategies/pov.py: band = rate × (1 − 20 %) at the bottom
# In a fragmented market, passive children on the rich venue are picked off in bursts
# by cross-venue arbitrage: 5-minute windows swing ±30 % (seen 0.07–0.13) while the
# cumulative rate and 10-minute windows stay in band. Known weakness, see the notes.
POV_WINDOW = 10 * MINUTE
# max_participation (POV_MAX) is hard over each minute too (ParentConfig's participation
# window), so after a burst of volume the POV cannot catch up in one go: on the quiet
# market a 10-minute window dips below the band's bottom; and passive children never
# take, so they fill only as contra flow reaches them (7.4 % with seed 3).
POV_WINDOW_MIN = POV_RATE * 0.7

WIDE_BUY = to_price("103.00")  # 3 % away: never binds in these runs
WIDE_SELL = to_price("97.00")


@dataclass(frozen=True)
class Condition:
    name: str
    seed: int
    rate_scale: float

    def venues(self) -> list[VenueConfig]:
        flow = FlowConfig(rate_scale=self.rate_scale)
        return [
            VenueConfig(name="LIT1", flow=flow),
            VenueConfig(name="LIT2", flow=flow),
            VenueConfig(name="DARK1", kind=VenueKind.DARK),
        ]


QUIET = Condition("quiet", seed=3, rate_scale=0.05)
BUSY = Condition("busy", seed=4, rate_scale=0.3)


@dataclass
class MarketRun:
    condition: Condition
    journal: Journal
    reports: list
    orders: dict[str, ClientOrder] = field(default_factory=dict)  # by client order id
    parents: dict[str, ParentOrderCreated] = field(default_factory=dict)  # by client id

    def records(self, cid: str, *types: type) -> list:
        """The parent's journal records of the given types, in journal order."""
        pid = self.parents[cid].parent_id
        return [
            r.message
            for r in self.journal.by_parent(pid)
            if not types or isinstance(r.message, types)
        ]


def _order(cid: str, side: Side, qty: int, limit: int, mandate: Mandate) -> ClientOrder:
    return ClientOrder(
        source="OMS",
        account="ACC1",
        client_order_id=cid,
        instrument=SYMBOL,
        side=side,
        quantity=qty,
        limit_price=limit,
        mandate=mandate,
    )


def _touches(journal: Journal, now_ns: int) -> tuple[list[int], list[int]]:
    """Each lit venue's best bid and best offer (venues that are up), from the router's
    tape. Per venue, not the NBBO: the simulated venues' books wander apart."""
    last: dict[str, MarketDataUpdated] = {}
    for rec in journal.query(types="MarketDataUpdated", since=now_ns - 10 * SECOND):
        last[rec.message.venue] = rec.message
    lit = [
        md for md in last.values() if md.kind is VenueKind.LIT and md.status is not VenueStatus.DOWN
    ]
    bids = [md.bids[0].price for md in lit if md.bids]
    asks = [md.asks[0].price for md in lit if md.asks]
    assert bids and asks, "no two-sided lit market to set the tight limits from"
    return bids, asks


def _parent_of(journal: Journal, order: ClientOrder) -> ParentOrderCreated:
    """The desk aggregates by (instrument, side, limit, mandate): each order here has its
    own key, hence its own parent."""
    (created,) = [
        p
        for p in journal.messages(ParentOrderCreated)
        if (p.side, p.limit_price, p.mandate) == (order.side, order.limit_price, order.mandate)
    ]
    return created


@pytest.fixture(scope="module", params=[QUIET, BUSY], ids=lambda c: c.name)
def market_run(request) -> MarketRun:
    cond: Condition = request.param
    market = MarketConfig(instrument=INSTRUMENT, venues=cond.venues(), session=SESSION)
    engine = Engine(market, seed=cond.seed)
    run = MarketRun(cond, engine.journal, engine.reports)  # type: ignore[arg-type]
    try:
        orders = [
            _order(
                "vwap",
                Side.BUY,
                6_000,
                WIDE_BUY,
                Mandate(strategy=StrategyName.VWAP, start_ns=at(VWAP_START), end_ns=at(VWAP_END)),
            ),
            _order(
                "pov",
                Side.BUY,
                500_000,
                WIDE_BUY,
                Mandate(
                    strategy=StrategyName.POV,
                    pov_rate=POV_RATE,
                    max_participation=POV_MAX,
                    must_complete=False,
                    start_ns=at(POV_START),
                    end_ns=at(POV_END),
                ),
            ),
            _order(
                "twap",
                Side.SELL,
                3_000,
                WIDE_SELL,
                Mandate(strategy=StrategyName.TWAP, start_ns=at(SELL_START), end_ns=at(SELL_END)),
            ),
            _order(
                "is",
                Side.BUY,
                3_000,
                WIDE_BUY,
                Mandate(
                    strategy=StrategyName.IS,
                    urgency=Urgency.HIGH,
                    start_ns=at(BUY_START),
                    end_ns=at(BUY_END),
                ),
            ),
        ]
        for order in orders:
            engine.submit(order)
        # Tight limits, set from the touch a second before each starts: the sell 50 ticks
        # above the highest offer, the buy 50 ticks below the lowest bid. (Short: a parent stuck
        # behind its limit re-places a crossing child every few seconds, and the router
        # re-sends its unfilled IOCs every 250 ms; that traffic is the costliest part.)
        engine.run_until(at(SELL_END - TIGHT_START) - SECOND)
        _, asks = _touches(run.journal, engine.now)
        far = TIGHT_TICKS * TICK
        orders.append(
            _order(
                "tight_sell",
                Side.SELL,
                2_000,
                max(asks) + far,
                Mandate(
                    strategy=StrategyName.TWAP,
                    start_ns=at(SELL_END - TIGHT_START),
                    end_ns=at(SELL_END),
                ),
            )
        )
        engine.submit(orders[-1])
        engine.run_until(at(BUY_END - TIGHT_START) - SECOND)
        bids, _ = _touches(run.journal, engine.now)
        orders.append(
            _order(
                "tight_buy",
                Side.BUY,
                2_000,
                min(bids) - far,
                Mandate(
                    strategy=StrategyName.TWAP,
                    start_ns=at(BUY_END - TIGHT_START),
                    end_ns=at(BUY_END),
                ),
            )
        )
        engine.submit(orders[-1])
        engine.run_until(at(RUN_END))
    finally:
        engine.close()
    rejected = [r for r in run.reports if not isinstance(r, ExecutionReport)]
    assert not rejected, rejected
    for order in orders:
        run.orders[order.client_order_id] = order
        run.parents[order.client_order_id] = _parent_of(run.journal, order)
    return run


# ------------------------------------------------------------------------------ VWAP


@functools.cache
def _profile() -> tuple[list[float], list[float]]:
    """The shipped U-shaped profile, read from its data file (not through the strategy
    code under test): bin edges in minutes from the open and shares of the day, with the
    after-close bin dropped as the file's note says."""
    doc = json.loads(
        resources.files("engine").joinpath("data", "volume_profile_us.json").read_text()
    )
    bins = [b for b in doc["bins"] if b["start_min"] < doc["session_minutes"]]
    edges = [float(b["start_min"]) for b in bins] + [float(bins[-1]["end_min"])]
    total = sum(b["pct"] for b in bins)
    return edges, [b["pct"] / total for b in bins]


def _profile_volume_by(minute: float) -> float:
    """Share of the day's volume traded by ``minute`` after the open (uniform in a bin)."""
    edges, weights = _profile()
    done = 0.0
    for (lo, hi), w in zip(pairwise(edges), weights, strict=True):
        done += w * min(max(minute - lo, 0.0), hi - lo) / (hi - lo)
    return done


def _profile_fraction(minute: float, start: float, end: float) -> float:
    """The profile's cumulative fraction of an order working [start, end]."""
    base = _profile_volume_by(start)
    return (_profile_volume_by(minute) - base) / (_profile_volume_by(end) - base)


def vwap_tolerance(quantity: int, start: float, end: float) -> float:
    """How far the filled fraction may stray from the profile's, from the parent's rules:

    - a child is sized to the schedule one ``lookahead`` ahead, less filled and open, so
      filled can never run more than one lookahead of schedule ahead (a hard bound);
    - the parent counts itself behind (and crosses the spread) once a shortfall is older
      than ``behind_slack``, and looks every ``decision_interval``; in a market that can
      take the order, filled therefore lags at most slack + interval of schedule;
    - plus half a minimum child of rounding (the schedule is rounded to the nearest
      minimum child).
    The schedule is steepest in the profile's busiest bin of the horizon, so in fractions
    of the order the tolerance is that bin's rate × the longest of these windows: for the
    09:30-11:00 order 1.30 %/min × 60 s + 1/6000 ≈ 1.31 %. Anything looser would stop
    telling VWAP from TWAP (the U-shape is 5.5 % ahead of an even schedule at 10:00)."""
    steepest = (
        max(
            _profile_fraction(m + 1, start, end) - _profile_fraction(m, start, end)
            for m in range(int(start), int(end))
        )
        / MINUTE
    )  # fraction of the order per ns
    window = max(PARENT.lookahead_ns, PARENT.behind_slack_ns + PARENT.decision_interval_ns)
    return steepest * window + max(PARENT.min_child_qty / 2, INSTRUMENT.lot) / quantity


def _cumulative(fills: list[ParentOrderFilled], t_ns: int) -> int:
    return sum(f.quantity for f in fills if f.ts <= t_ns)


def test_vwap_tracks_its_profile(market_run: MarketRun):
    order = market_run.orders["vwap"]
    fills = market_run.records("vwap", ParentOrderFilled)
    assert sum(f.quantity for f in fills) == order.quantity
    tol = vwap_tolerance(order.quantity, VWAP_START, VWAP_END)

    # The test can tell VWAP from TWAP: the U-shape front-loads a morning order by more
    # than twice the tolerance at the first bin boundary.
    first = VWAP_START + 30
    twap = (first - VWAP_START) / (VWAP_END - VWAP_START)
    assert _profile_fraction(first, VWAP_START, VWAP_END) - twap > 2 * tol

    errors = {}
    for minute in range(VWAP_START + 30, VWAP_END + 1, 30):  # each 30-minute bin's end
        done = _cumulative(fills, at(minute)) / order.quantity
        errors[minute] = done - _profile_fraction(minute, VWAP_START, VWAP_END)
    assert max(abs(e) for e in errors.values()) <= tol, (errors, tol)

    # And not only at the bin edges: minute by minute through the order's life, where the
    # last child may also run ahead by the odd remainder it takes along (less than one
    # minimum child).
    worst = max(
        abs(_cumulative(fills, at(m)) / order.quantity - _profile_fraction(m, VWAP_START, VWAP_END))
        for m in range(VWAP_START, VWAP_END + 1)
    )
    remainder = (PARENT.min_child_qty - 1) / order.quantity
    assert worst <= tol + remainder, (worst, tol, remainder)


# ------------------------------------------------------------------------------- POV


class _Tape:
    """Market volume from the router's recorded ``MarketDataUpdated`` (cumulative per
    venue, lit and dark, our own trades included, as TCA counts participation)."""

    def __init__(self, journal: Journal) -> None:
        self.points: dict[str, tuple[list[int], list[int]]] = {}
        for md in journal.messages(MarketDataUpdated):
            times, volumes = self.points.setdefault(md.venue, ([], []))
            times.append(md.ts)
            volumes.append(md.volume)

    def volume_at(self, t_ns: int) -> int:
        total = 0
        for times, volumes in self.points.values():
            k = bisect.bisect_right(times, t_ns) - 1
            if k >= 0:
                total += volumes[k]
        return total


POV_WARMUP = 3 * MINUTE
POV_INFO_LAG = 10 * SECOND


def test_pov_stays_within_its_participation_band(market_run: MarketRun):
    tape = _Tape(market_run.journal)
    fills = market_run.records("pov", ParentOrderFilled)
    start, end = at(POV_START), at(POV_END)
    assert all(start <= f.ts <= end for f in fills)
    base_volume = tape.volume_at(start)
    # Since the start (what the strategy steers: rate × market volume since it began),
    # minute by minute after a 3-minute warm-up: the parent sees market volume through
    # the router's 5 s relay and decides every 5 s, and passive children take time to
    # fill, so a burst of volume in the first minutes (cross-venue arbitrage makes volume
    # bursty; on the quiet market one arbitrage trade is a large part of two minutes'
    # volume: 6.4 % at minute 2, 9.6 % at minute 3 with seed 3) is caught up by minute 3 ...
    # The strategy can only react to volume it has seen: compare own fills at t with the
    # market volume at t − POV_INFO_LAG (5 s relay + 5 s decision interval).
    cumulative = [
        _cumulative(fills, t) / (tape.volume_at(t - POV_INFO_LAG) - base_volume)
        for t in range(start + POV_WARMUP, end + 1, MINUTE)
    ]
    outside = {
        i + POV_WARMUP // MINUTE: round(p, 4)
        for i, p in enumerate(cumulative)
        if not POV_MIN <= p <= POV_MAX
    }
    assert not outside, outside  # minute → participation since the start
    # ... and in each 10-minute window on its own.
    windows = []
    for t in range(start + POV_WINDOW, end + 1, POV_WINDOW):
        market_in = tape.volume_at(t) - tape.volume_at(t - POV_WINDOW)
        own_in = _cumulative(fills, t) - _cumulative(fills, t - POV_WINDOW)
        windows.append(own_in / market_in)
    assert len(windows) == (POV_END - POV_START) * MINUTE // POV_WINDOW
    assert all(POV_WINDOW_MIN <= p <= POV_MAX for p in windows), windows

    # Best effort: it stops at its end time with its leaves (it could never fill 500k).
    (last,) = market_run.records("pov", ParentStateChanged)[-1:]
    assert last.state is ParentState.EXPIRED and last.ts == end
    assert last.filled == sum(f.quantity for f in fills) < market_run.orders["pov"].quantity


# --------------------------------------------------------------------- must complete


@pytest.mark.parametrize("cid", ["vwap", "twap", "is"])
def test_must_complete_order_completes_by_its_end_time(market_run: MarketRun, cid: str):
    order = market_run.orders[cid]
    assert order.mandate.must_complete
    end = order.mandate.end_ns
    states = market_run.records(cid, ParentStateChanged)
    assert states[-1].state is ParentState.COMPLETED, states[-1]
    assert states[-1].ts <= end
    fills = market_run.records(cid, ParentOrderFilled)
    assert sum(f.quantity for f in fills) == order.quantity
    assert max(f.ts for f in fills) <= end
    # The client hears it: its last execution report is FILLED, all of it, by the end.
    mine = [
        r for r in market_run.reports if isinstance(r, ExecutionReport) and r.client_order_id == cid
    ]
    assert mine[-1].ord_status is OrdStatus.FILLED and mine[-1].cum_qty == order.quantity
    assert mine[-1].ts <= end
    assert sum(r.last_qty for r in mine if r.exec_type is ExecType.TRADE) == order.quantity


# ---------------------------------------------------------------------- limit price


def _within(price: int | None, limit: int, side: Side) -> bool:
    return price is not None and (price <= limit if side is Side.BUY else price >= limit)


def limit_breaches(journal: Journal) -> tuple[list[str], dict[str, int]]:
    """Every child command, venue order, replace and fill of every limited parent against
    that parent's limit (buy ≤ limit, sell ≥ limit). Returns (breaches, counts checked)."""
    parents = {
        p.parent_id: p for p in journal.messages(ParentOrderCreated) if p.limit_price is not None
    }
    venue_orders: dict[tuple[str, str], ParentOrderCreated] = {}
    breaches: list[str] = []
    counts = {"children": 0, "venue_orders": 0, "replaces": 0, "fills": 0}
    for msg in journal.messages(
        PlaceChildOrder, PlaceVenueOrder, ReplaceVenueOrder, VenueOrderFilled, ParentOrderFilled
    ):
        if isinstance(msg, ReplaceVenueOrder | VenueOrderFilled):
            parent = venue_orders.get((msg.venue, msg.order_id))
        else:
            parent = parents.get(msg.parent_id)
        if parent is None:
            continue
        limit, side = parent.limit_price, parent.side
        assert limit is not None
        if isinstance(msg, PlaceChildOrder):
            counts["children"] += 1
            ok = _within(msg.limit_price, limit, side)
        elif isinstance(msg, PlaceVenueOrder):
            venue_orders[(msg.venue, msg.order_id)] = parent
            counts["venue_orders"] += 1
            ok = msg.order_type is OrderType.LIMIT and _within(msg.price, limit, side)
        elif isinstance(msg, ReplaceVenueOrder):
            counts["replaces"] += 1
            ok = msg.price is None or _within(msg.price, limit, side)  # None: price kept
        else:
            counts["fills"] += 1
            ok = _within(msg.price, limit, side)
        if not ok:
            breaches.append(f"{parent.parent_id} {parent.side.name} limit {limit}: {msg!r}")
    return breaches, counts


def test_no_child_ever_breaches_the_limit_price(market_run: MarketRun):
    breaches, counts = limit_breaches(market_run.journal)
    assert not breaches, breaches[:5]
    assert counts["children"] > 0 and counts["venue_orders"] >= counts["children"]

    # The tight limits did bind: the parents wanted to cross (aggressive decisions and the
    # must-complete sweep) and every child was held exactly at the limit. A must-complete
    # order cannot buy through its limit: it expires at its end time with its leaves.
    for cid in ("tight_sell", "tight_buy"):
        order = market_run.orders[cid]
        children = market_run.records(cid, PlaceChildOrder)
        assert children and all(c.limit_price == order.limit_price for c in children)
        assert any(c.tactic is Tactic.AGGRESSIVE for c in children)
        sweep_from = order.mandate.end_ns - PARENT.sweep_lead_ns
        assert any(c.ts >= sweep_from for c in children), f"{cid}: no final sweep"
        final = market_run.records(cid, ParentStateChanged)[-1]
        assert final.state is ParentState.EXPIRED and final.filled < order.quantity
        assert final.ts == order.mandate.end_ns
        assert final.expiry_reason is ExpiryReason.END_TIME


# ------------------------------------------------------------------------ recalibration


def _starved(fault: str):
    scenario = load(STARVED)
    if fault != "down":
        # A lit venue that refuses orders still quotes, so the dark pool keeps crossing at
        # its mid: to starve the order every venue has to refuse.
        (spec,) = scenario.faults
        scenario = msgspec.structs.replace(
            scenario,
            faults=[
                msgspec.structs.replace(spec, fault=fault, venue=v.name) for v in scenario.venues
            ],
        )
    spec = scenario.faults[0]
    f0 = scenario.session.at(spec.at)
    f1 = f0 + int(spec.duration_s * SECOND)
    return scenario, run_scenario(scenario), f0, f1


@pytest.mark.parametrize("fault", ["down", "reject_orders"])
def test_starved_market_makes_the_strategy_catch_up_aggressively(fault: str):
    _, result, f0, f1 = _starved(fault)
    journal = result.journal
    (parent,) = journal.messages(ParentOrderCreated)
    pid, qty = parent.parent_id, parent.quantity
    end = parent.mandate.end_ns
    decisions = [m for m in journal.messages(ScheduleRecalibrated) if m.parent_id == pid]
    tactic = {c.child_id: c.tactic for c in journal.messages(PlaceChildOrder)}
    fills = [f for f in journal.messages(ParentOrderFilled) if f.parent_id == pid]

    # On schedule when the market starves (the shortfall below is the starvation's doing).
    before = [d for d in decisions if d.ts < f0]
    assert before and before[-1].deviation >= -0.02 * qty, before[-1]

    # Falls behind: what the schedule wanted over the outage is missing, and the parent's
    # decision is to cross the spread with a negative deviation.
    wanted = qty * (f1 - f0) // (end - parent.mandate.start_ns)
    behind = [
        d
        for d in decisions
        if f0 <= d.ts <= f1 + MINUTE
        and d.tactic is Tactic.AGGRESSIVE
        and d.deviation <= -wanted // 2
    ]
    assert behind, "no aggressive decision with a large negative deviation"
    worst = min(d.deviation for d in decisions)
    assert worst <= -wanted // 2
    if fault == "down":  # no lit quotes: the parent pauses, and resumes aggressive
        states = [s for s in journal.messages(ParentStateChanged) if s.parent_id == pid]
        assert any(s.state is ParentState.PAUSED and f0 <= s.ts < f1 for s in states)
        first_back = next((d for d in decisions if d.ts >= f1), None)
        assert first_back is not None and first_back.tactic is Tactic.AGGRESSIVE
        assert first_back.deviation <= -wanted // 2
    else:  # quotes keep coming: the parent decides all along, ever further behind
        # once its lead at the fault is used up (the slack of a minute's schedule or so)
        turn = next((d for d in decisions if d.ts >= f0 and d.tactic is Tactic.AGGRESSIVE), None)
        assert turn is not None and turn.ts - f0 <= 2 * MINUTE and turn.deviation < 0
        during = [d for d in decisions if turn.ts <= d.ts < f1]
        assert all(d.tactic is Tactic.AGGRESSIVE for d in during)
        assert all(b.deviation <= a.deviation for a, b in pairwise(during))
        assert during[-1].deviation <= -wanted // 2

    # Catches up: filled is back near scheduled within 3 minutes of the market's return,
    # and the catch-up was bought by crossing the spread.
    caught = next((d for d in decisions if d.ts >= f1 and d.deviation >= -0.01 * qty), None)
    assert caught is not None and caught.ts - f1 <= 3 * MINUTE, caught
    catch_up = [f for f in fills if f1 <= f.ts <= caught.ts]
    crossed = sum(f.quantity for f in catch_up if tactic[f.child_id] is Tactic.AGGRESSIVE)
    assert crossed >= 0.8 * sum(f.quantity for f in catch_up) > wanted // 2

    # ... and still completes by its end time, without breaching its limit.
    states = [s for s in journal.messages(ParentStateChanged) if s.parent_id == pid]
    assert states[-1].state is ParentState.COMPLETED and states[-1].ts <= end
    assert sum(f.quantity for f in fills) == qty
    breaches, _ = limit_breaches(journal)
    assert not breaches, breaches[:5]
