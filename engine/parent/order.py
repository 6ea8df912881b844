"""The parent order: a pure state machine that turns a strategy's schedule into child
orders and recalibrates on every fill and timer.

The parent actor owns one ``ParentOrder`` and forwards events to it; every method
returns the messages to send (``msg_id=0``, ``ts=now_ns``; the runtime stamps ids) and
leaves ``next_wake_ns`` set to when it wants its next timer.

Decisions happen on every fill, on a child cancelled to be re-placed, on start/resume/
resize, and on timers. Timers fall on the decision-interval grid from the last decision,
but a time-driven parent (TWAP/VWAP/IS without a participation cap) only sets one for
the first grid time at which a decision can act (a child due, or a resting child to pull
when behind), or for a deadline (a child going stale, the sweep, the end): it decides at
the same times as a parent deciding every interval would have acted, without the wakes
that change nothing. Volume-driven parents (POV, a participation cap) decide every
interval. Every decision made is journaled (``ScheduleRecalibrated``).

Lifecycle (explicit table below): pending → working ⇄ paused → completed / cancelled /
expired. Decisions per wake:
- scheduled = what the strategy wants done by now; deviation = filled − scheduled;
- behind (filled below what the schedule wanted one slack ago, or any shortfall in a
  must-complete order's final window) → AGGRESSIVE: cross the spread, passive children
  are cancelled and re-placed; on schedule → PASSIVE (join the bid/offer); ahead or
  low urgency → MIDPOINT (rest in the dark);
- child size = scheduled one lookahead ahead − filled − open, capped by remaining
  (never over-allocated), participation × market volume since start, lots, minimum
  size and the number of open children;
- child limit price on tick and never through the parent limit.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.clock import MINUTE, SECOND
from engine.config import SessionConfig
from engine.instruments import Instrument
from engine.market_view import MarketView
from engine.messages import (
    CancelChildOrder,
    ChildOrderAccepted,
    ChildOrderDone,
    ChildOrderFilled,
    ChildOrderRejected,
    MarketDataUpdated,
    Message,
    ParentOrderCreated,
    ParentOrderFilled,
    ParentState,
    ParentStateChanged,
    PlaceChildOrder,
    RoutingLogic,
    ScheduleRecalibrated,
    Side,
    Tactic,
    Urgency,
    VenueKind,
    VenueStatus,
)
from engine.strategies import Strategy, build_strategy
from engine.strategies.implementation_shortfall import ImpactModel
from engine.strategies.vwap import VolumeProfile

S = ParentState
TRANSITIONS: dict[ParentState, frozenset[ParentState]] = {
    S.PENDING: frozenset({S.WORKING, S.CANCELED, S.EXPIRED}),
    S.WORKING: frozenset({S.PAUSED, S.COMPLETED, S.CANCELED, S.EXPIRED}),
    S.PAUSED: frozenset({S.WORKING, S.COMPLETED, S.CANCELED, S.EXPIRED}),
    S.COMPLETED: frozenset(),
    S.CANCELED: frozenset(),
    S.EXPIRED: frozenset(),
}
TERMINAL = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)


class IllegalTransition(ValueError):
    def __init__(self, parent_id: str, source: ParentState, target: ParentState) -> None:
        super().__init__(f"parent {parent_id}: illegal transition {source} -> {target}")
        self.source, self.target = source, target


@dataclass(frozen=True, slots=True)
class ParentConfig:
    decision_interval_ns: int = 5 * SECOND  # timer period
    lookahead_ns: int = 1 * MINUTE  # a child covers the schedule this far ahead
    period_ns: int = 1 * MINUTE  # schedule granularity (TWAP/VWAP/IS)
    behind_slack_ns: int = 10 * SECOND  # shortfall older than this counts as behind
    max_open_children: int = 2
    min_child_qty: int = 0  # 0: one lot
    passive_timeout_ns: int = 30 * SECOND  # passive/midpoint child re-placed after this
    aggressive_timeout_ns: int = 5 * SECOND  # leftover of a crossing child re-priced
    final_window_fraction: float = 0.1  # must-complete: strict catch-up in the last 10 %
    sweep_lead_ns: int = 5 * SECOND  # must-complete: final sweep this long before end
    sweep_ticks: int = 2  # the sweep prices this many ticks through the far touch
    sweep_retry_ns: int = 1 * SECOND
    overrun_ns: int = 60 * SECOND  # must-complete: keep sweeping after end, then expire
    # VWAP's intraday volume profile: None is the shipped U-shape; or one estimated from
    # the market's history (``engine.venues.volume_history``) or loaded from a file
    vwap_profile: VolumeProfile | None = None


@dataclass(slots=True)
class Child:
    child_id: str
    quantity: int
    tactic: Tactic
    limit_price: int | None
    placed_ns: int
    filled: int = 0
    leaves: int = 0  # quantity still working at the venue, by our own accounting
    accepted: bool = False
    cancel_requested: bool = False
    done: bool = False

    @property
    def is_open(self) -> bool:
        return not self.done and self.leaves > 0


@dataclass(slots=True)
class _Decision:
    scheduled: int
    tactic: Tactic
    reason: str
    sweep: bool = False


class ParentOrder:
    def __init__(
        self,
        order: ParentOrderCreated,
        instrument: Instrument,
        session: SessionConfig | None = None,
        config: ParentConfig | None = None,
        *,
        profile: VolumeProfile | None = None,
        impact: ImpactModel | None = None,
    ) -> None:
        if order.quantity <= 0:
            raise ValueError(f"parent {order.parent_id}: quantity must be > 0")
        self.order = order
        self.instrument = instrument
        self.session = session or SessionConfig()
        self.config = config or ParentConfig()
        self._profile = profile if profile is not None else self.config.vwap_profile
        self._impact = impact
        self.state = ParentState.PENDING
        self.target = order.quantity
        self.filled = 0
        self.children: dict[str, Child] = {}  # every child ever placed, by id
        self._open: dict[str, Child] = {}  # those still working: keeps a decision O(open)
        self.strategy: Strategy | None = None
        mandate = order.mandate
        self.start_ns: int | None = mandate.start_ns
        self.end_ns: int = mandate.end_ns if mandate.end_ns is not None else self.session.close_ns
        self.next_wake_ns: int | None = self.start_ns
        self._wake_anchor_ns = 0  # when the wake was last planned: decisions on its grid
        self._timing_cache: tuple[int | None, tuple[int, int]] | None = None
        self._polls_cache: tuple[Strategy | None, bool] | None = None
        self._volume_at_start = 0
        self._auto_paused = False
        self._fill_ids: set[str] = set()
        self._child_seq = 0

    # ---------------------------------------------------------------- queries

    @property
    def parent_id(self) -> str:
        return self.order.parent_id

    @property
    def side(self) -> Side:
        return self.order.side

    @property
    def leaves(self) -> int:
        return self.target - self.filled

    @property
    def open_qty(self) -> int:
        return sum(c.leaves for c in self._open.values())  # _open: leaves > 0, not done

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL

    def open_children(self) -> list[Child]:
        """Children still working. ``_open`` holds exactly those (``is_open``): a child
        leaves it when its leaves reach zero or it is closed."""
        return list(self._open.values())

    # -------------------------------------------------------------- lifecycle

    def start(self, now_ns: int, market: MarketView) -> list[Message]:
        """Arrival: work now, or wait (pending) until the mandate's start time."""
        if self.state is not ParentState.PENDING or self.strategy is not None:
            raise IllegalTransition(self.parent_id, self.state, ParentState.WORKING)
        if self.start_ns is None:
            self.start_ns = now_ns
        if self.end_ns <= max(self.start_ns, now_ns):
            self.next_wake_ns = None
            return [self._transition(ParentState.EXPIRED, now_ns, "end time before start")]
        if now_ns < self.start_ns:
            self.next_wake_ns = self.start_ns
            return []
        return self._begin(now_ns, market)

    def on_timer(self, now_ns: int, market: MarketView) -> list[Message]:
        if self.is_terminal:
            return []
        if self.state is ParentState.PENDING:
            if self.start_ns is None or now_ns < self.start_ns:
                return []
            if now_ns >= self.end_ns:
                self.next_wake_ns = None
                return [self._transition(ParentState.EXPIRED, now_ns, "end time before start")]
            return self._begin(now_ns, market)
        if self._must_expire(now_ns):
            return self._expire(now_ns)
        if self.state is ParentState.PAUSED:
            if self._auto_paused and _has_quotes(market):
                return self.resume(now_ns, market, "market data back")
            self._plan_wake(now_ns)
            return []
        if not _has_quotes(market):
            out = self._transition(ParentState.PAUSED, now_ns, "no market data")
            self._auto_paused = True
            self._plan_wake(now_ns)
            return [out]
        return self._cancel_stale(now_ns) + self._recalibrate(now_ns, market, "timer")

    def pause(self, now_ns: int, reason: str = "paused") -> list[Message]:
        """Stop placing children and pull the open ones (operator or supervisor)."""
        if self.state is not ParentState.WORKING:
            raise IllegalTransition(self.parent_id, self.state, ParentState.PAUSED)
        self._auto_paused = False
        out = self._cancel_open(now_ns, f"parent paused: {reason}")
        out.append(self._transition(ParentState.PAUSED, now_ns, reason))
        self._plan_wake(now_ns)
        return out

    def resume(self, now_ns: int, market: MarketView, reason: str = "resumed") -> list[Message]:
        if self.state is not ParentState.PAUSED:
            raise IllegalTransition(self.parent_id, self.state, ParentState.WORKING)
        self._auto_paused = False
        out = [self._transition(ParentState.WORKING, now_ns, reason)]
        return out + self._recalibrate(now_ns, market, reason)

    def cancel(self, now_ns: int, reason: str = "cancelled") -> list[Message]:
        """Client cancel: pull every open child. A finished parent ignores it (too late)."""
        if self.is_terminal:
            return []
        out = self._cancel_open(now_ns, f"parent cancelled: {reason}")
        out.append(self._transition(ParentState.CANCELED, now_ns, reason))
        self.next_wake_ns = None
        return out

    def resize(
        self, new_qty: int, now_ns: int, market: MarketView, reason: str = ""
    ) -> list[Message]:
        """New total target (a join grows it, a client cancel shrinks it). The target never
        drops below what is already filled; open children above the new remaining are
        cancelled, newest first."""
        if self.is_terminal:
            return []
        if new_qty < 0:
            raise ValueError(f"parent {self.parent_id}: quantity must be >= 0")
        self.target = max(new_qty, self.filled)
        if self.strategy is not None:
            self.strategy = self.strategy.resized(self.target)
        why = f"resized to {new_qty}" + (f": {reason}" if reason else "")
        if self.filled >= self.target:
            if self.state is ParentState.PENDING:  # nothing left to work
                self.next_wake_ns = None
                return [self._transition(ParentState.CANCELED, now_ns, why)]
            return self._complete(now_ns, why)
        out = self._trim_open(now_ns, why)
        if self.state is ParentState.WORKING:
            out += self._recalibrate(now_ns, market, why)
        return out

    # ---------------------------------------------------------- child events

    def on_child_accepted(
        self, msg: ChildOrderAccepted, now_ns: int, market: MarketView
    ) -> list[Message]:
        del now_ns, market
        child = self.children.get(msg.child_id)
        if child is not None:
            child.accepted = True
        return []

    def on_child_filled(
        self, msg: ChildOrderFilled, now_ns: int, market: MarketView
    ) -> list[Message]:
        """Every fill is reported once (idempotent on fill id) and recalibrates."""
        if msg.fill_id in self._fill_ids:
            return []
        self._fill_ids.add(msg.fill_id)
        child = self.children.get(msg.child_id)
        if child is not None:
            child.filled += msg.quantity
            child.leaves = max(0, child.leaves - msg.quantity)
            if child.leaves == 0:
                self._open.pop(child.child_id, None)
        self.filled += msg.quantity
        out: list[Message] = [
            ParentOrderFilled(
                ts=now_ns,
                parent_id=self.parent_id,
                child_id=msg.child_id,
                fill_id=msg.fill_id,
                venue=msg.venue,
                quantity=msg.quantity,
                price=msg.price,
                liquidity=msg.liquidity,
                fee=msg.fee,
            )
        ]
        if self.is_terminal:
            return out  # a late fill after cancel/expiry still goes to allocation
        if self.filled >= self.target:
            return out + self._complete(now_ns, "target filled")
        if self.state is ParentState.WORKING:
            out += self._recalibrate(now_ns, market, f"fill {msg.quantity} on {msg.child_id}")
        return out

    def on_child_done(self, msg: ChildOrderDone, now_ns: int, market: MarketView) -> list[Message]:
        """A child is finished. One we cancelled to re-place is re-placed at once; other
        endings (expiry, venue cancel) wait for the next timer, so a rejecting router
        cannot make the parent spin."""
        child = self.children.get(msg.child_id)
        if child is None or child.done:
            return []
        was_open = child.child_id in self._open  # not if its fills already used it up
        self._close(child)
        if child.cancel_requested and self.state is ParentState.WORKING:
            return self._recalibrate(now_ns, market, f"{msg.child_id} done: re-place")
        if was_open:
            self._wake_sooner(now_ns)  # a free slot: the next decision may place a child
        return []

    def on_child_rejected(
        self, msg: ChildOrderRejected, now_ns: int, market: MarketView
    ) -> list[Message]:
        del market
        child = self.children.get(msg.child_id)
        if child is not None:
            self._close(child)
            self._wake_sooner(now_ns)
        return []

    def on_market_data(self, msg: MarketDataUpdated, now_ns: int, market: MarketView) -> bool:
        """The market view changed (``market`` already holds ``msg``). A sleeping parent
        does not read the market, so quotes that vanish must wake it at its next decision
        time (it pauses then, as a parent deciding every interval would). True if
        ``next_wake_ns`` moved."""
        if self.state is not ParentState.WORKING or self._polls():
            return False
        if (
            msg.kind is VenueKind.LIT
            and msg.status is not VenueStatus.DOWN
            and (msg.bids or msg.asks)
        ):
            return False  # this venue quotes: the market has quotes
        if _has_quotes(market):
            return False
        before = self.next_wake_ns
        self._wake_sooner(now_ns, now_ns)
        return self.next_wake_ns != before

    def _close(self, child: Child) -> None:
        child.done, child.leaves = True, 0
        self._open.pop(child.child_id, None)

    # ------------------------------------------------------------ transitions

    def _transition(self, target: ParentState, now_ns: int, reason: str) -> ParentStateChanged:
        if target not in TRANSITIONS[self.state]:
            raise IllegalTransition(self.parent_id, self.state, target)
        self.state = target
        return ParentStateChanged(
            ts=now_ns,
            parent_id=self.parent_id,
            state=target,
            target=self.target,
            filled=self.filled,
            reason=reason,
        )

    def _begin(self, now_ns: int, market: MarketView) -> list[Message]:
        start = max(self.start_ns or now_ns, now_ns)
        self.start_ns = start
        self.strategy = build_strategy(
            self.order.mandate,
            self.target,
            start,
            self.end_ns,
            self.instrument.lot,
            self.session,
            period_ns=self.config.period_ns,
            profile=self._profile,
            impact=self._impact,
        )
        self._volume_at_start = market.volume()
        out: list[Message] = [self._transition(ParentState.WORKING, now_ns, "started")]
        if not _has_quotes(market):
            out.append(self._transition(ParentState.PAUSED, now_ns, "no market data"))
            self._auto_paused = True
            self._plan_wake(now_ns)
            return out
        return out + self._recalibrate(now_ns, market, "start")

    def _complete(self, now_ns: int, reason: str) -> list[Message]:
        out = self._cancel_open(now_ns, "parent completed")
        out.append(self._transition(ParentState.COMPLETED, now_ns, reason))
        self.next_wake_ns = None
        return out

    def _must_expire(self, now_ns: int) -> bool:
        if now_ns < self.end_ns:
            return False
        if self.state is ParentState.PAUSED or not self.order.mandate.must_complete:
            return True
        return now_ns >= self.end_ns + self.config.overrun_ns

    def _expire(self, now_ns: int) -> list[Message]:
        if self.order.mandate.must_complete and self.state is ParentState.WORKING:
            why = f"must-complete order not filled by end + overrun: leaves {self.leaves}"
        else:
            why = f"end time reached: leaves {self.leaves} (best effort)"
            if self.state is ParentState.PAUSED:
                why = f"end time reached while paused: leaves {self.leaves}"
        out = self._cancel_open(now_ns, "parent expired")
        out.append(self._transition(ParentState.EXPIRED, now_ns, why))
        self.next_wake_ns = None
        return out

    # ----------------------------------------------------------- recalibration

    def _recalibrate(self, now_ns: int, market: MarketView, trigger: str) -> list[Message]:
        """Compare filled vs scheduled, choose the tactic, size and price the next child,
        and journal the decision (ScheduleRecalibrated first, then the commands)."""
        volume = self._market_volume(market) if self._polls() else 0  # time-driven: unread
        decision = self._decide(now_ns, volume)
        out: list[Message] = []
        if decision.tactic is Tactic.AGGRESSIVE:
            out += self._cancel_resting(now_ns, "behind schedule: re-place aggressively")
        qty, why_not = self._child_qty(now_ns, volume, decision)
        price = self._child_price(decision.tactic, market, decision.sweep) if qty else None
        if qty and price is None and self.order.limit_price is None:
            qty, why_not = 0, "no price to place at"
        child_msg = self._place(now_ns, qty, price, decision.tactic) if qty else None
        self._plan_wake(now_ns)
        reason = f"{trigger}: {decision.reason}" + (f"; {why_not}" if why_not else "")
        out.insert(
            0,
            ScheduleRecalibrated(
                ts=now_ns,
                parent_id=self.parent_id,
                scheduled=decision.scheduled,
                filled=self.filled,
                deviation=self.filled - decision.scheduled,
                tactic=decision.tactic,
                next_quantity=qty,
                next_at=self.next_wake_ns or now_ns,
                reason=reason,
            ),
        )
        if child_msg is not None:
            out.append(child_msg)
        return out

    def _decide(self, now_ns: int, volume: int) -> _Decision:
        """The reason says why; the numbers (scheduled, filled, deviation) are the
        record's own fields."""
        assert self.strategy is not None
        scheduled = min(self.target, self.strategy.scheduled(now_ns, volume))
        must_complete = self.order.mandate.must_complete
        sweep_at, window_at = self._timing()
        if must_complete and now_ns >= sweep_at:
            why = f"final sweep of leaves {self.leaves}"
            return _Decision(self.target, Tactic.AGGRESSIVE, why, sweep=True)
        slack = 0 if must_complete and now_ns >= window_at else self.config.behind_slack_ns
        floor = self.strategy.behind_threshold(now_ns, volume, slack)
        if self.filled < min(floor, self.target):
            return _Decision(scheduled, Tactic.AGGRESSIVE, "behind: cross the spread")
        if self.filled > scheduled or self.order.mandate.urgency is Urgency.LOW:
            return _Decision(scheduled, Tactic.MIDPOINT, "ahead or patient: rest at mid")
        return _Decision(scheduled, Tactic.PASSIVE, "on schedule: join the touch")

    def _child_qty(self, now_ns: int, volume: int, d: _Decision) -> tuple[int, str]:
        """Size the next child; returns (qty, why it is smaller than wanted or zero)."""
        assert self.strategy is not None
        lot = self.instrument.lot
        min_child = max(self.config.min_child_qty, lot)
        open_children = self._open
        open_qty = sum(c.leaves for c in open_children.values())
        room = self.target - self.filled - open_qty  # never over-allocate
        if room <= 0:
            return 0, "fully allocated to open children"
        if len(open_children) >= self.config.max_open_children:
            return 0, "max open children"
        if d.sweep:
            want = room
        else:
            ahead = self.strategy.scheduled(now_ns + self.config.lookahead_ns, volume)
            want = min(self.target, ahead) - self.filled - open_qty
        qty, why = min(want, room), ""
        cap = self._participation_room(volume) if not d.sweep and self._polls() else None
        if cap is not None and cap < qty:
            qty, why = max(cap, 0), "capped by max participation"
        qty -= qty % lot
        if (qty > 0 and room - qty < lot) or (qty == 0 and 0 < room <= want and room < min_child):
            qty = room  # take the odd tail along: it could never be placed on its own
        if 0 < qty < min_child and qty != room:
            qty, why = 0, "below minimum child size"
        if qty <= 0:
            return 0, why or "nothing due yet"
        return qty, why

    def _participation_room(self, volume: int) -> int | None:
        assert self.strategy is not None
        rate = self.strategy.participation_cap()
        if rate is None:
            rate = self.order.mandate.max_participation
        if rate is None:
            return None
        # one minimum child is allowed before any volume, or the order could never start
        allowance = max(self.config.min_child_qty, self.instrument.lot)
        return int(rate * volume) + allowance - self.filled - self.open_qty

    def _child_price(self, tactic: Tactic, market: MarketView, sweep: bool) -> int | None:
        """On tick; never through the parent limit (buy ≤ limit, sell ≥ limit)."""
        buy = self.side is Side.BUY
        bid, ask = market.best_bid(), market.best_ask()
        near, far = (bid, ask) if buy else (ask, bid)
        tick = self.instrument.tick
        sign = 1 if buy else -1
        if tactic is Tactic.AGGRESSIVE and far is not None:
            price = far + sign * (self.config.sweep_ticks if sweep else 0) * tick
        elif tactic is Tactic.MIDPOINT and bid is not None and ask is not None:
            price = self.instrument.round_to_tick((bid + ask) // 2 + (bid + ask) % 2, up=buy)
        else:
            price = near if near is not None else (far - sign * tick if far is not None else None)
        return _clamp_to_limit(price, self.order.limit_price, buy, self.instrument)

    def _place(self, now_ns: int, qty: int, price: int | None, tactic: Tactic) -> PlaceChildOrder:
        self._child_seq += 1
        child_id = f"{self.parent_id}-C{self._child_seq}"
        child = Child(child_id, qty, tactic, price, now_ns, leaves=qty)
        self.children[child_id] = self._open[child_id] = child
        return PlaceChildOrder(
            ts=now_ns,
            parent_id=self.parent_id,
            child_id=child_id,
            instrument=self.order.instrument,
            side=self.side,
            quantity=qty,
            limit_price=price,
            tactic=tactic,
            routing=self._routing(tactic),
        )

    def _routing(self, tactic: Tactic) -> RoutingLogic:
        if self.order.mandate.routing is not None:
            return self.order.mandate.routing
        if tactic is Tactic.MIDPOINT:
            return RoutingLogic.LIQUIDITY_SEEKING
        if tactic is Tactic.AGGRESSIVE and self.order.mandate.urgency is Urgency.HIGH:
            return RoutingLogic.PARALLEL
        return RoutingLogic.SEQUENTIAL

    # ---------------------------------------------------------------- cancels

    def _cancel(self, child: Child, now_ns: int, reason: str) -> CancelChildOrder:
        child.cancel_requested = True
        return CancelChildOrder(
            ts=now_ns, parent_id=self.parent_id, child_id=child.child_id, reason=reason
        )

    def _cancel_open(self, now_ns: int, reason: str) -> list[Message]:
        return [
            self._cancel(c, now_ns, reason) for c in self.open_children() if not c.cancel_requested
        ]

    def _cancel_resting(self, now_ns: int, reason: str) -> list[Message]:
        return [
            self._cancel(c, now_ns, reason)
            for c in self.open_children()
            if c.tactic is not Tactic.AGGRESSIVE and not c.cancel_requested
        ]

    def _cancel_stale(self, now_ns: int) -> list[Message]:
        out: list[Message] = []
        sweep_at = self._sweep_at()
        for c in self.open_children():
            if not c.cancel_requested and now_ns >= self._stale_at(c, sweep_at):
                out.append(self._cancel(c, now_ns, f"stale {c.tactic} child: re-place"))
        return out

    def _stale_at(self, child: Child, sweep_at: int | None = None) -> int:
        """``sweep_at``: ``_sweep_at()`` if the caller has it already (one per decision,
        not one per open child)."""
        cfg = self.config
        if self.order.mandate.must_complete and child.placed_ns >= (
            self._sweep_at() if sweep_at is None else sweep_at
        ):
            return child.placed_ns + cfg.sweep_retry_ns
        if child.tactic is Tactic.AGGRESSIVE:
            return child.placed_ns + cfg.aggressive_timeout_ns
        return child.placed_ns + cfg.passive_timeout_ns

    def _trim_open(self, now_ns: int, reason: str) -> list[Message]:
        """Cancel open children, newest first, until they fit in the remaining quantity."""
        out: list[Message] = []
        excess = self.open_qty - self.leaves
        for c in sorted(self.open_children(), key=lambda c: c.placed_ns, reverse=True):
            if excess <= 0:
                break
            if not c.cancel_requested:
                out.append(self._cancel(c, now_ns, reason))
            excess -= c.leaves
        return out

    # ------------------------------------------------------------------ timing

    def _market_volume(self, market: MarketView) -> int:
        return max(0, market.volume() - self._volume_at_start)

    def _horizon_ns(self) -> int:
        return self.end_ns - (self.start_ns or self.end_ns)

    def _timing(self) -> tuple[int, int]:
        """(sweep time, start of the final window): fixed by the horizon, so computed once
        per start time."""
        cached = self._timing_cache
        if cached is not None and cached[0] == self.start_ns:
            return cached[1]
        cfg, horizon = self.config, self._horizon_ns()
        sweep_at = self.end_ns - min(cfg.sweep_lead_ns, horizon // 4)
        window = max(int(cfg.final_window_fraction * horizon), 2 * cfg.decision_interval_ns)
        timing = (sweep_at, self.end_ns - window)
        self._timing_cache = (self.start_ns, timing)
        return timing

    def _sweep_at(self) -> int:
        return self._timing()[0]

    def _sweeping(self, now_ns: int) -> bool:
        return self.order.mandate.must_complete and now_ns >= self._timing()[0]

    def _final_window_ns(self) -> int:
        return self.end_ns - self._timing()[1]

    def _in_final_window(self, now_ns: int) -> bool:
        return self.order.mandate.must_complete and now_ns >= self._timing()[1]

    def _polls(self) -> bool:
        """Whether decisions depend on the market volume (POV, a participation cap): such a
        parent decides every interval; a time-driven one sleeps until its schedule, its
        children or its deadlines next ask for something."""
        strategy = self.strategy
        cached = self._polls_cache
        if cached is not None and cached[0] is strategy:
            return cached[1]
        polls = (
            strategy is None
            or strategy.participation_cap() is not None
            or self.order.mandate.max_participation is not None
        )
        self._polls_cache = (strategy, polls)
        return polls

    def _next_due_ns(self) -> int | None:
        """The earliest time a time-driven decision can do anything (None: not by time
        alone). A decision acts by placing a child or, behind schedule, by cancelling
        resting children to go aggressive; everything else it decides (the tactic of a
        child it does not place, a deviation) changes nothing. A lower bound: a wake
        that finds nothing to do just plans again."""
        strategy = self.strategy
        assert strategy is not None
        cfg = self.config
        open_qty, resting = 0, False
        for c in self._open.values():
            open_qty += c.leaves
            if c.tactic is not Tactic.AGGRESSIVE and not c.cancel_requested:
                resting = True
        due: int | None = None
        room = self.target - self.filled - open_qty
        if room > 0 and len(self._open) < cfg.max_open_children:
            # a child is due when the lookahead schedule passes filled + open by the least
            # quantity ``_child_qty`` places: a minimum child, or the rest (odd tail)
            lot = self.instrument.lot
            least = min(
                room,
                _ceil_lot(max(cfg.min_child_qty, lot), lot),
                max(lot, _ceil_lot(room - lot + 1, lot)),
            )
            at = strategy.due_ns(self.filled + open_qty + least)
            if at is not None:
                due = at - cfg.lookahead_ns
        if resting:
            at = strategy.due_ns(self.filled + 1)  # behind once the schedule passes filled
            if at is not None:
                behind = at + cfg.behind_slack_ns
                if self.order.mandate.must_complete:  # no slack in the final window
                    behind = min(behind, max(at, self._timing()[1]))
                due = behind if due is None else min(due, behind)
        return due

    def _tick_at_or_after(self, due: int, now_ns: int) -> int:
        """The first decision time on the interval grid (from the last planning, which is
        not on it) at or after both ``due`` and ``now_ns``: the time a parent deciding
        every interval would have acted, so sleeping changes no decision."""
        anchor, step = self._wake_anchor_ns, self.config.decision_interval_ns
        k = max(-(-(due - anchor) // step), -(-(now_ns - anchor) // step), 1)
        return anchor + k * step

    def _wake_sooner(self, now_ns: int, due: int | None = None) -> None:
        """Something changed between decisions (a child ended without a recalibration,
        quotes vanished): wake at the grid time the change can first be acted on."""
        if self.state is not ParentState.WORKING or self.next_wake_ns is None or self._polls():
            return
        if due is None:
            due = self._next_due_ns()
            if due is None:
                return
        self.next_wake_ns = min(self.next_wake_ns, self._tick_at_or_after(due, now_ns))

    def _plan_wake(self, now_ns: int) -> None:
        """Next timer: the next decision time, the sweep, the end, or a child going stale.
        Paused, sweeping or volume-driven: every decision interval (sweep retry). Working
        on a time-driven schedule: the first interval tick at which a decision can act
        (``_next_due_ns``), not every tick: a wake that decides nothing new costs a
        timer, a decision and an audit record."""
        if self.state in TERMINAL:
            self.next_wake_ns = None
            return
        cfg = self.config
        self._wake_anchor_ns = now_ns
        must_complete = self.order.mandate.must_complete
        sweep_at = self._timing()[0]
        sweeping = must_complete and now_ns >= sweep_at  # _sweeping(now_ns)
        working = self.state is ParentState.WORKING
        end = self.end_ns
        if sweeping or not working or self._polls():
            wake = now_ns + (cfg.sweep_retry_ns if sweeping else cfg.decision_interval_ns)
        else:
            due = self._next_due_ns()
            if due is not None:
                wake = self._tick_at_or_after(due, now_ns)
            else:  # nothing more by time alone: the deadlines below
                wake = end if end > now_ns else now_ns + cfg.decision_interval_ns
        if must_complete:
            if now_ns < sweep_at < wake:
                wake = sweep_at
            overrun = end + cfg.overrun_ns
            if now_ns < overrun < wake:
                wake = overrun
        if now_ns < end < wake:
            wake = end
        if working:
            for c in self._open.values():
                if not c.cancel_requested:
                    # _stale_at(c, sweep_at), inlined: one per open child per decision
                    if must_complete and c.placed_ns >= sweep_at:
                        stale = c.placed_ns + cfg.sweep_retry_ns
                    elif c.tactic is Tactic.AGGRESSIVE:
                        stale = c.placed_ns + cfg.aggressive_timeout_ns
                    else:
                        stale = c.placed_ns + cfg.passive_timeout_ns
                    if now_ns < stale < wake:
                        wake = stale
        self.next_wake_ns = wake


def _ceil_lot(quantity: int, lot: int) -> int:
    return -(-quantity // lot) * lot


def _has_quotes(market: MarketView) -> bool:
    return market.best_bid() is not None or market.best_ask() is not None


def _clamp_to_limit(
    price: int | None, limit: int | None, buy: bool, instrument: Instrument
) -> int | None:
    """Keep a child price on tick and on the right side of the parent limit."""
    if limit is not None:
        bound = instrument.round_to_tick(limit, up=not buy)  # an off-tick limit rounds inward
        if price is None:
            price = bound
        price = min(price, bound) if buy else max(price, bound)
    if price is None:
        return None
    price = instrument.round_to_tick(price, up=not buy)
    return price if price > 0 else None
