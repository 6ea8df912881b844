"""The parent order: a pure state machine that turns a strategy's schedule into child
orders and recalibrates on every fill and timer.

Every method returns the messages to send (``msg_id=0``, ``ts=now_ns``; the runtime stamps
ids) and leaves ``next_wake_ns`` set to when it wants its next timer. Where they go is
``engine.parent.hosted``'s business; when the parent wakes is ``engine.parent.wakes``';
its children are kept in ``engine.parent.children``.

Decisions happen on every fill, on a child cancelled to be re-placed, on start/resume/
resize, and on timers. Timers fall on the decision-interval grid from the last decision,
but a time-driven parent (TWAP/VWAP/IS without a participation cap) only sets one for
the first grid time at which a decision can act (a child due, or a resting child to pull
when behind), or for a deadline (a child going stale, the sweep, the end): it decides at
the same times as a parent deciding every interval would have acted, without the wakes
that change nothing. Volume-driven parents (POV, a participation cap) decide every
interval. Every decision made is journaled (``ScheduleRecalibrated``).

Lifecycle (``engine.parent.lifecycle``): pending → working ⇄ paused → completed /
cancelled / expired. Decisions per wake:
- scheduled = what the strategy wants done by now; deviation = filled − scheduled;
- behind (filled short by a minimum child of what the schedule wanted one slack ago, no
  slack in a must-complete order's final window) → AGGRESSIVE: cross the spread, passive
  children are cancelled and re-placed; on schedule → PASSIVE (join the bid/offer);
  ahead or low urgency → MIDPOINT (rest in the dark);
- child size (``sizing.child_quantity``) = scheduled one lookahead ahead − filled − open,
  rounded to the nearest minimum child, never over-allocated, within max participation
  (``engine.parent.participation``), the last child taking the odd remainder along;
- child limit price on tick and never through the parent limit;
- the end time is hard: children are pulled just before it, and what is left expires at
  it with a cause (``ExpiryReason``) the client's report carries.

Recovery feeds a new parent its journaled records through ``apply``, then ``restore``.
"""

from __future__ import annotations

from engine.config import SessionConfig
from engine.instruments import Instrument
from engine.market_view import MarketView
from engine.messages import (
    ChildOrderAccepted,
    ChildOrderDone,
    ChildOrderFilled,
    ChildOrderOverfilled,
    ChildOrderRejected,
    ExpiryReason,
    MarketDataUpdated,
    Message,
    ParentOrderCreated,
    ParentOrderFilled,
    ParentQuantityReleased,
    ParentState,
    ParentStateChanged,
    PlaceChildOrder,
    ResizeParentOrder,
    ScheduleRecalibrated,
    Side,
    Tactic,
    Urgency,
    VenueKind,
    VenueStatus,
)
from engine.parent.children import Child, ChildBook, excess_fill_id
from engine.parent.config import ParentConfig
from engine.parent.ending import Ending
from engine.parent.lifecycle import (
    NO_MARKET_DATA,
    TERMINAL,
    TRANSITIONS,
    IllegalTransition,
)
from engine.parent.participation import CAPPED, CappedParticipation, ParticipationWindow
from engine.parent.sizing import (
    Decision,
    child_price,
    child_quantity,
    has_quotes,
    routing_for,
)
from engine.parent.wakes import WakePlanning
from engine.strategies import Strategy, build_strategy
from engine.strategies.implementation_shortfall import ImpactModel
from engine.strategies.vwap import VolumeProfile

__all__ = ["TERMINAL", "TRANSITIONS", "Child", "IllegalTransition", "ParentConfig", "ParentOrder"]


class ParentOrder(WakePlanning, Ending, CappedParticipation):
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
        self.book = ChildBook(order.parent_id)
        self.strategy: Strategy | None = None
        mandate = order.mandate
        self.start_ns: int | None = mandate.start_ns
        self.end_ns: int = mandate.end_ns if mandate.end_ns is not None else self.session.close_ns
        self.next_wake_ns: int | None = self.start_ns
        self._wake_anchor_ns = 0
        self._timing_cache = None
        self._polls_cache = None
        self._volume_at_start = 0
        self._window = ParticipationWindow(self.config.participation_window_ns)
        self._capped_ns: int | None = None  # when max participation last held back a shortfall
        self._auto_paused = False
        self._ending: tuple[ParentState, str, ExpiryReason | None] | None = None
        self._closed_sent = False
        self._began: ParentStateChanged | None = None  # replayed: when the parent began
        self.released: dict[int, int] = {}  # given back to the desk, by release id
        self._resized_to = (order.quantity, 0)  # replayed: the desk's last target, after

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
        return self.book.open_qty

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL

    @property
    def children(self) -> dict[str, Child]:
        """Every child ever placed, by id."""
        return self.book.children

    def open_children(self) -> list[Child]:
        return self.book.open_children()

    # -------------------------------------------------------------- lifecycle

    def start(self, now_ns: int, market: MarketView) -> list[Message]:
        """Arrival: work now, or wait (pending) until the mandate's start time."""
        if self.state is not ParentState.PENDING or self.strategy is not None:
            raise IllegalTransition(self.parent_id, self.state, ParentState.WORKING)
        if self.start_ns is None:
            self.start_ns = now_ns
        if self.end_ns <= max(self.start_ns, now_ns):
            self.next_wake_ns = None
            return [self._expired_before_start(now_ns)]
        if now_ns < self.start_ns:
            self.next_wake_ns = self.start_ns
            return []
        return self._begin(now_ns, market)

    def on_timer(self, now_ns: int, market: MarketView) -> list[Message]:
        if self.is_terminal:
            return []
        if self._ending is not None:
            return self._settle(now_ns)
        if self.state is ParentState.PENDING:
            if self.start_ns is None or now_ns < self.start_ns:
                return []
            if now_ns >= self.end_ns:
                self.next_wake_ns = None
                return [self._expired_before_start(now_ns)]
            return self._begin(now_ns, market)
        if self._must_expire(now_ns):
            return self._expire(now_ns)
        if now_ns >= self._stop_at() and self.state is ParentState.WORKING:
            self._plan_wake(now_ns)  # the end time: it expires then
            return self.book.cancel_open(now_ns, "end time: pull before it")
        if self.state is ParentState.PAUSED:
            if self._auto_paused and has_quotes(market):
                return self.resume(now_ns, market, "market data back")
            self._plan_wake(now_ns)
            return []
        if not has_quotes(market):
            out = self._transition(ParentState.PAUSED, now_ns, NO_MARKET_DATA)
            self._auto_paused = True
            self._plan_wake(now_ns)
            return [out]
        return self._cancel_stale(now_ns) + self._recalibrate(now_ns, market, "timer")

    def pause(self, now_ns: int, reason: str = "paused") -> list[Message]:
        """Stop placing children and pull the open ones (operator or supervisor)."""
        if self.state is not ParentState.WORKING:
            raise IllegalTransition(self.parent_id, self.state, ParentState.PAUSED)
        self._auto_paused = False
        out = self.book.cancel_open(now_ns, f"parent paused: {reason}")
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
        """Client cancel: pull every open child; CANCELED once they are all done (their
        late fills are still the clients'). A finished or ending parent ignores it."""
        if self.is_terminal or self._ending is not None:
            return []
        out = self.book.cancel_open(now_ns, f"parent cancelled: {reason}")
        return out + self._end(ParentState.CANCELED, now_ns, reason)

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
        out = self.book.trim_open(self.open_qty - self.leaves, now_ns, why)
        if self.state is ParentState.WORKING:
            out += self._recalibrate(now_ns, market, why)
        return out

    # ---------------------------------------------------------- child events

    def on_child_accepted(
        self, msg: ChildOrderAccepted, now_ns: int, market: MarketView
    ) -> list[Message]:
        del now_ns, market
        child = self.book.get(msg.child_id)
        if child is not None:
            child.accepted = True
        return []

    def on_child_filled(
        self, msg: ChildOrderFilled, now_ns: int, market: MarketView
    ) -> list[Message]:
        """Every fill is reported once (idempotent on fill id) and recalibrates."""
        if not self.book.count_fill(msg.fill_id):
            return []
        self.book.fill(msg.child_id, msg.quantity)
        self.filled += msg.quantity
        out: list[Message] = [to_desk(msg, msg.fill_id, now_ns, parent_id=self.parent_id)]
        if self.is_terminal:
            return out  # a late fill after cancel/expiry still goes to allocation
        if self.filled >= self.target:
            return out + self._complete(now_ns, "target filled")
        if self.state is ParentState.WORKING:
            out += self._recalibrate(now_ns, market, f"fill {msg.quantity} on {msg.child_id}")
        return out

    def on_child_overfilled(self, msg: ChildOrderOverfilled, now_ns: int) -> list[Message]:
        """Shares beyond the child: the desk books them to the excess account (under
        their own fill id, once). Nothing else changes: the child was already full."""
        fill_id = excess_fill_id(msg.fill_id)
        if not self.book.count_fill(fill_id):
            return []
        return [to_desk(msg, fill_id, now_ns, parent_id=msg.parent_id)]

    def on_child_done(self, msg: ChildOrderDone, now_ns: int, market: MarketView) -> list[Message]:
        """A child is finished. One we cancelled to re-place is re-placed at once; other
        endings (expiry, venue cancel) wait for the next timer, so a rejecting router
        cannot make the parent spin."""
        child = self.book.get(msg.child_id)
        if child is None or child.done:
            return []
        was_open = child.child_id in self.book.open  # not if its fills already used it up
        self.book.close(child)
        if self.is_ending:
            return self._settle(now_ns)
        if child.cancel_requested and self.state is ParentState.WORKING:
            return self._recalibrate(now_ns, market, f"{msg.child_id} done: re-place")
        if was_open:
            self._wake_sooner(now_ns)  # a free slot: the next decision may place a child
        return []

    def on_child_rejected(
        self, msg: ChildOrderRejected, now_ns: int, market: MarketView
    ) -> list[Message]:
        del market
        child = self.book.get(msg.child_id)
        if child is None:
            return []
        self.book.close(child)
        if self.is_ending:
            return self._settle(now_ns)
        self._wake_sooner(now_ns)
        return []

    def on_market_data(self, msg: MarketDataUpdated, now_ns: int, market: MarketView) -> bool:
        """The market view changed (``market`` already holds ``msg``). A sleeping parent
        does not read the market, so quotes that vanish must wake it at its next decision
        time (it pauses then, as a parent deciding every interval would). True if
        ``next_wake_ns`` moved."""
        if self.state is not ParentState.WORKING or self._ending is not None or self._polls():
            return False
        if (
            msg.kind is VenueKind.LIT
            and msg.status is not VenueStatus.DOWN
            and (msg.bids or msg.asks)
        ):
            return False  # this venue quotes: the market has quotes
        if has_quotes(market):
            return False
        before = self.next_wake_ns
        self._wake_sooner(now_ns, now_ns)
        return self.next_wake_ns != before

    # --------------------------------------------------------------- recovery

    def apply(self, msg: Message) -> None:
        """Take one journaled record of this parent into its state, deciding nothing.
        Recovery feeds a new parent its records in trail order, then calls ``restore``."""
        if isinstance(msg, ChildOrderFilled):
            if self.book.count_fill(msg.fill_id):
                self.book.fill(msg.child_id, msg.quantity)
                self.filled += msg.quantity
        elif isinstance(msg, ChildOrderOverfilled):
            self.book.count_fill(excess_fill_id(msg.fill_id))
        elif isinstance(msg, ParentStateChanged):
            self.state = msg.state
            self._auto_paused = msg.state is ParentState.PAUSED and msg.reason == NO_MARKET_DATA
            if msg.state is ParentState.WORKING and self._began is None:
                self._began = msg
        elif isinstance(msg, ResizeParentOrder):  # the target is set in ``restore``
            self._resized_to = (msg.quantity, msg.after_release)
        elif isinstance(msg, ParentQuantityReleased):  # in any order with the resizes
            self.released[msg.release_id] = msg.quantity
        else:
            self.book.apply(msg)

    def restore(self, now_ns: int, volume_at_start: int = 0) -> None:
        """The replay is over: bound the target by what filled, rebuild the schedule as it
        was built when the parent began (resized to the current target as a resize does),
        and decide again one interval from now at the latest. A parent that never began
        stays pending (its host starts it as on a first start)."""
        quantity, after = self._resized_to
        self.target = quantity - sum(q for rid, q in self.released.items() if rid > after)
        self.target = max(self.target, self.filled)  # as ``resize``: never below filled
        began = self._began
        if began is None:
            if self.state is not ParentState.PENDING:  # pending straight to a terminal state
                self.next_wake_ns = None
            return
        self.start_ns = began.ts
        self._volume_at_start = volume_at_start
        strategy = self._build_strategy(began.target, began.ts)
        self.strategy = strategy if self.target == began.target else strategy.resized(self.target)
        # The host decides as soon as market data is back; this timer is the fallback.
        self.next_wake_ns = None if self.is_terminal else now_ns + self.config.decision_interval_ns
        self._wake_anchor_ns = now_ns  # the decision grid restarts here

    # ------------------------------------------------------------ transitions

    def _transition(
        self,
        target: ParentState,
        now_ns: int,
        reason: str,
        expiry: ExpiryReason | None = None,
    ) -> ParentStateChanged:
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
            expiry_reason=expiry,
        )

    def _build_strategy(self, quantity: int, start_ns: int) -> Strategy:
        return build_strategy(
            self.order.mandate,
            quantity,
            start_ns,
            self.end_ns,
            self.instrument.lot,
            self.session,
            period_ns=self.config.period_ns,
            profile=self._profile,
            impact=self._impact,
        )

    def _begin(self, now_ns: int, market: MarketView) -> list[Message]:
        start = max(self.start_ns or now_ns, now_ns)
        self.start_ns = start
        self.strategy = self._build_strategy(self.target, start)
        self._volume_at_start = market.volume()
        out: list[Message] = [self._transition(ParentState.WORKING, now_ns, "started")]
        if not has_quotes(market):
            out.append(self._transition(ParentState.PAUSED, now_ns, NO_MARKET_DATA))
            self._auto_paused = True
            self._plan_wake(now_ns)
            return out
        return out + self._recalibrate(now_ns, market, "start")

    def _complete(self, now_ns: int, reason: str) -> list[Message]:
        out = self.book.cancel_open(now_ns, "parent completed")
        return out + self._end(ParentState.COMPLETED, now_ns, reason)

    def _cancel_stale(self, now_ns: int) -> list[Message]:
        sweep_at = self._sweep_at()
        return [
            self.book.cancel(c, now_ns, f"stale {c.tactic} child: re-place")
            for c in self.book.open_children()
            if not c.cancel_requested and now_ns >= self._stale_at(c, sweep_at)
        ]

    # ----------------------------------------------------------- recalibration

    def _recalibrate(self, now_ns: int, market: MarketView, trigger: str) -> list[Message]:
        """Compare filled vs scheduled, choose the tactic, size and price the next child,
        and journal the decision (ScheduleRecalibrated first, then the commands)."""
        if self._ending is not None:  # ending: it places nothing more
            return []
        volume = 0  # a time-driven parent does not read the market's volume
        if self._polls():
            volume = self._market_volume(market)
            self._window.observe(now_ns, volume, self.filled)
        decision = self._decide(now_ns, volume)
        out: list[Message] = self._pull_over_cap(now_ns, volume)
        if decision.tactic is Tactic.AGGRESSIVE:
            out += self.book.cancel_resting(now_ns, "behind schedule: re-place aggressively")
        qty, why_not = self._child_qty(now_ns, volume, decision)
        price = self._child_price(decision, market) if qty else None
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

    def _market_volume(self, market: MarketView) -> int:
        return max(0, market.volume() - self._volume_at_start)

    def _decide(self, now_ns: int, volume: int) -> Decision:
        """The reason says why; the numbers (scheduled, filled, deviation) are the
        record's own fields."""
        assert self.strategy is not None
        scheduled = min(self.target, self.strategy.scheduled(now_ns, volume))
        must_complete = self.order.mandate.must_complete
        sweep_at, window_at, _ = self._timing()
        if must_complete and now_ns >= sweep_at:
            why = f"final sweep of leaves {self.leaves}"
            return Decision(self.target, Tactic.AGGRESSIVE, why, sweep=True)
        slack = 0 if must_complete and now_ns >= window_at else self.config.behind_slack_ns
        floor = self.strategy.behind_threshold(now_ns, volume, slack)
        if min(floor, self.target) - self.filled >= self._least_shortfall():
            return Decision(scheduled, Tactic.AGGRESSIVE, "behind: cross the spread")
        if self.filled > scheduled or self.order.mandate.urgency is Urgency.LOW:
            return Decision(scheduled, Tactic.MIDPOINT, "ahead or patient: rest at mid")
        return Decision(scheduled, Tactic.PASSIVE, "on schedule: join the touch")

    def _child_qty(self, now_ns: int, volume: int, d: Decision) -> tuple[int, str]:
        """Size the next child; returns (qty, why it is smaller than wanted or zero)."""
        assert self.strategy is not None
        if now_ns >= self._stop_at():
            return 0, "end time: nothing new"
        open_qty = self.book.open_qty
        room = self.target - self.filled - open_qty  # never over-allocate
        if room > 0 and len(self.book.open) >= self.config.max_open_children:
            return 0, "max open children"
        if d.sweep:
            want = room
        else:
            ahead = self.strategy.scheduled(now_ns + self.config.lookahead_ns, volume)
            want = min(self.target, ahead) - self.filled - open_qty
        cap = self._participation_room(now_ns, volume, open_qty)
        qty, why = child_quantity(want, room, cap, self._min_child(), self.instrument.lot)
        if why == CAPPED and d.scheduled - self.filled >= min(self._min_child(), self.leaves):
            self._capped_ns = now_ns  # held back what the schedule wanted done by now
        return qty, why

    def _child_price(self, decision: Decision, market: MarketView) -> int | None:
        return child_price(
            decision.tactic,
            market,
            side=self.side,
            limit=self.order.limit_price,
            instrument=self.instrument,
            sweep_ticks=self.config.sweep_ticks if decision.sweep else 0,
        )

    def _place(self, now_ns: int, qty: int, price: int | None, tactic: Tactic) -> PlaceChildOrder:
        child_id = self.book.new_id()
        self.book.add(
            Child(
                child_id=child_id,
                quantity=qty,
                tactic=tactic,
                limit_price=price,
                placed_ns=now_ns,
                leaves=qty,
            )
        )
        return PlaceChildOrder(
            ts=now_ns,
            parent_id=self.parent_id,
            child_id=child_id,
            instrument=self.order.instrument,
            side=self.side,
            quantity=qty,
            limit_price=price,
            tactic=tactic,
            routing=routing_for(tactic, self.order.mandate),
        )


def to_desk(
    fill: ChildOrderFilled | ChildOrderOverfilled, fill_id: str, now_ns: int, *, parent_id: str
) -> ParentOrderFilled:
    """A fill as the desk hears of it (for allocation), under ``fill_id``."""
    return ParentOrderFilled(
        ts=now_ns,
        parent_id=parent_id,
        child_id=fill.child_id,
        fill_id=fill_id,
        venue=fill.venue,
        quantity=fill.quantity,
        price=fill.price,
        liquidity=fill.liquidity,
        fee=fill.fee,
    )
