"""``recalibration_p99_us``: fill → next child decision, wall clock, live mode.

One real ``ParentActor`` on a pykka thread under a ``LiveRuntime`` (wall clock, scheduler
thread, an in-memory journal). This module plays the router: it sends the parent a quote,
and for every ``PlaceChildOrder`` the parent sends
it sends back a ``ChildOrderFilled`` for the whole child through the runtime, as the
router actor would. A sample is the wall time from that send (the fill enters the
message path) to the parent's send of its next ``PlaceChildOrder``: the scheduler
thread's delivery, the pykka inbox, the actor thread waking, the handler
(``ParentOrder.on_child_filled`` → recalibration), the journal writes and the send.

Measured twice: with the engine's threads on one CPU (``LiveRuntime(cpu=...)``, the
thread playing the router with them), as a latency-minded live deployment runs, which is
``recalibration_p99_us``; and with every thread wherever the OS puts it
(``recalibration_unpinned_p99_us``), where each handoff may wait for another core to wake.

The order is a TWAP far behind a fast schedule, so every fill leaves a lot due and the
fill's recalibration places the next child; timers are pushed beyond the run, so no
timer-driven decision can be mistaken for a fill-driven one.
"""

from __future__ import annotations

import os
import queue
import time
from typing import Any

from actors.parent_actor import ParentActor
from actors.runtime import LiveRuntime
from actors.supervisor import ChildSpec, Supervisor
from engine.audit.journal import Journal
from engine.clock import MS, SECOND
from engine.config import SessionConfig
from engine.instruments import Instrument
from engine.messages import (
    BookLevel,
    ChildOrderFilled,
    Liquidity,
    Mandate,
    MarketDataUpdated,
    Message,
    ParentOrderCreated,
    PlaceChildOrder,
    Side,
    StrategyName,
    VenueKind,
    VenueStatus,
)
from engine.parent.order import ParentConfig
from engine.prices import to_price

ROUTER, DESK, PARENT = "router", "desk", "P-bench"
_FAR = 3_600 * SECOND  # timers and stale-child checks: never within a run
_WAIT_S = 2.0  # a decision that takes this long is a failure, not a sample


class _TimedRuntime(LiveRuntime):
    """Notes the wall time at which the parent *sends* each PlaceChildOrder: the moment
    the decision leaves the parent (delivery to the router is not part of it)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.placed_at: dict[str, int] = {}

    def send(self, sender: str, dest: str, msg: Message, delay_ns: int = 0) -> Message:
        if isinstance(msg, PlaceChildOrder):
            self.placed_at[msg.child_id] = time.perf_counter_ns()
        return super().send(sender, dest, msg, delay_ns)


def _quote(instrument: Instrument, now_ns: int) -> MarketDataUpdated:
    ref, tick = instrument.ref_price, instrument.tick
    return MarketDataUpdated(
        venue="LIT1",
        instrument=instrument.symbol,
        kind=VenueKind.LIT,
        status=VenueStatus.UP,
        bids=[BookLevel(ref - tick, 10_000)],
        asks=[BookLevel(ref + tick, 10_000)],
        ts=now_ns,
    )


def _order(instrument: Instrument, start_ns: int) -> ParentOrderCreated:
    # 10^7 shares/s: one lot is due every 10 µs, so every fill leaves a child to place.
    horizon = 1_000 * SECOND
    return ParentOrderCreated(
        parent_id=PARENT,
        instrument=instrument.symbol,
        side=Side.BUY,
        quantity=10_000_000 * (horizon // SECOND),
        limit_price=None,
        mandate=Mandate(strategy=StrategyName.TWAP, start_ns=start_ns, end_ns=start_ns + horizon),
    )


def _config() -> ParentConfig:
    return ParentConfig(
        decision_interval_ns=_FAR,
        passive_timeout_ns=_FAR,
        aggressive_timeout_ns=_FAR,
        lookahead_ns=1 * MS,  # children of about one ms of schedule (linear in a period)
    )


def measure(samples: int, warmup: int = 200, cpu: int | None = None) -> list[float]:
    """Fill → next PlaceChildOrder latencies in µs, after ``warmup`` unrecorded rounds.
    ``cpu``: the engine's threads on that CPU (``LiveRuntime(cpu=...)``), and this thread
    too while it measures, as it plays the router, itself an engine thread in a run."""
    instrument = Instrument(symbol="XYZ", ref_price=to_price("100"))
    journal = Journal(":memory:")
    rt = _TimedRuntime(seed=1, journal=journal, cpu=cpu)
    allowed = os.sched_getaffinity(0) if cpu is not None else None
    rt.pin_thread()
    try:
        placed = _start_parent(rt, instrument)
        return _round_trips(rt, placed, instrument, warmup, samples)
    finally:
        rt.shutdown()
        journal.close()
        if allowed is not None:
            os.sched_setaffinity(0, allowed)


def _start_parent(rt: _TimedRuntime, instrument: Instrument) -> queue.SimpleQueue[PlaceChildOrder]:
    """The parent under its supervisor with a quote in its view; the queue receives every
    child it places (this thread plays the router)."""
    placed: queue.SimpleQueue[PlaceChildOrder] = queue.SimpleQueue()

    def router(msg: Message, sender: str) -> None:
        if isinstance(msg, PlaceChildOrder):
            placed.put(msg)

    rt.on_message(ROUTER, router)
    rt.on_message(DESK, lambda msg, sender: None)
    supervisor = Supervisor(rt, "parents")
    # Start a little later so the quote is in the parent's view when it begins.
    start = rt.now() + 50 * MS
    supervisor.start_child(
        ChildSpec(
            PARENT,
            ParentActor,
            {
                "order": _order(instrument, start),
                "instrument": instrument,
                "session": SessionConfig(),
                "config": _config(),
                "router": ROUTER,
                "desk": DESK,
            },
        )
    )
    # The quote goes out once the name is attached: a reply to the subscription sent
    # from on_start can reach the name before LiveRuntime.spawn attaches the new ref.
    rt.send(ROUTER, PARENT, _quote(instrument, rt.now()))
    return placed


def _round_trips(
    rt: _TimedRuntime,
    placed: queue.SimpleQueue[PlaceChildOrder],
    instrument: Instrument,
    warmup: int,
    samples: int,
) -> list[float]:
    """Fill each child whole and time the parent's next placement, in µs."""
    latencies: list[float] = []
    child = placed.get(timeout=_WAIT_S)
    for i in range(warmup + samples):
        sent = time.perf_counter_ns()
        rt.send(
            ROUTER,
            PARENT,
            ChildOrderFilled(
                parent_id=PARENT,
                child_id=child.child_id,
                fill_id=f"F{i}",
                venue="LIT1",
                quantity=child.quantity,
                price=child.limit_price or instrument.ref_price,
                liquidity=Liquidity.TAKER,
                leaves=0,
            ),
        )
        child = placed.get(timeout=_WAIT_S)
        if i >= warmup:
            latencies.append((rt.placed_at[child.child_id] - sent) / 1_000)
    return latencies


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(quick: bool = False) -> dict[str, float]:
    """The figure with the engine's threads on one CPU, as a live deployment runs it
    (``Engine(live=True, cpu=...)``), and with the threads wherever the OS puts them."""
    samples = 500 if quick else 20_000
    spread = measure(samples)
    figures = {
        "recalibration_unpinned_p99_us": round(percentile(spread, 0.99), 1),
        "recalibration_unpinned_p50_us": round(percentile(spread, 0.50), 1),
    }
    pinned = (
        measure(samples, cpu=min(os.sched_getaffinity(0)))
        if hasattr(os, "sched_setaffinity")
        else spread
    )  # no thread affinity here: the same thing
    return {
        "recalibration_p99_us": round(percentile(pinned, 0.99), 1),
        "recalibration_p50_us": round(percentile(pinned, 0.50), 1),
        **figures,
    }
