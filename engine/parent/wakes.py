"""When a parent next decides: the decision-interval grid, its deadlines (a child going
stale, the final sweep, the end) and, for a time-driven schedule, the first
grid time at which a decision can act at all.

A mixin of ``ParentOrder`` (it reads the parent's state and sets its ``next_wake_ns``);
kept apart because it is the part of the parent that only decides *when*, never *what*.
"""

from __future__ import annotations

from engine.instruments import Instrument
from engine.messages import ParentOrderCreated, ParentState, Tactic
from engine.parent.children import Child, ChildBook
from engine.parent.config import ParentConfig
from engine.parent.lifecycle import TERMINAL
from engine.parent.sizing import ceil_lot
from engine.strategies import Strategy


class WakePlanning:
    # the parent's state this reads (set by ``ParentOrder.__init__``)
    order: ParentOrderCreated
    instrument: Instrument
    config: ParentConfig
    state: ParentState
    target: int
    filled: int
    book: ChildBook
    strategy: Strategy | None
    start_ns: int | None
    end_ns: int
    next_wake_ns: int | None
    _wake_anchor_ns: int  # when the wake was last planned: decisions on its grid
    _timing_cache: tuple[int | None, tuple[int, int, int]] | None
    _polls_cache: tuple[Strategy | None, bool] | None

    def _timing(self) -> tuple[int, int, int]:
        """(sweep time, start of the final window, stop time): fixed by the horizon, so
        computed once per start time."""
        cached = self._timing_cache
        if cached is not None and cached[0] == self.start_ns:
            return cached[1]
        cfg, horizon = self.config, self.end_ns - (self.start_ns or self.end_ns)
        sweep_at = self.end_ns - min(cfg.sweep_lead_ns, horizon // 4)
        window = max(int(cfg.final_window_fraction * horizon), 2 * cfg.decision_interval_ns)
        stop_at = self.end_ns - min(cfg.stop_lead_ns, horizon // 8)
        timing = (sweep_at, self.end_ns - window, stop_at)
        self._timing_cache = (self.start_ns, timing)
        return timing

    def _stop_at(self) -> int:
        """No child is placed from here on and the open ones are pulled: none may fill
        after the end time."""
        return self._timing()[2]

    def _sweep_at(self) -> int:
        return self._timing()[0]

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

    def _must_expire(self, now_ns: int) -> bool:
        """Nothing happens after the end time, must-complete or not: what is left then
        could not be done within the mandate."""
        return now_ns >= self.end_ns

    def _min_child(self) -> int:
        """The least child: the configured minimum (0: one lot), in whole lots."""
        lot = self.instrument.lot
        return ceil_lot(max(self.config.min_child_qty, lot), lot)

    def _least_shortfall(self) -> int:
        """The parent is behind once the schedule is this far ahead of filled: a minimum
        child (or what is left), since no child could have been smaller. A volume-driven
        strategy's band (POV's) is its slack already: any shortfall below it."""
        strategy = self.strategy
        if strategy is not None and strategy.participation_cap() is not None:
            return 1
        return max(1, min(self._min_child(), self.target - self.filled))

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

    def _next_due_ns(self) -> int | None:
        """The earliest time a time-driven decision can do anything (None: not by time
        alone). A decision acts by placing a child or, behind schedule, by cancelling
        resting children to go aggressive; everything else it decides (the tactic of a
        child it does not place, a deviation) changes nothing. A lower bound: a wake
        that finds nothing to do just plans again."""
        strategy = self.strategy
        assert strategy is not None
        cfg = self.config
        open_children = self.book.open
        open_qty, resting = 0, False
        for c in open_children.values():
            open_qty += c.leaves
            if c.tactic is not Tactic.AGGRESSIVE and not c.cancel_requested:
                resting = True
        due: int | None = None
        room = self.target - self.filled - open_qty
        if room > 0 and len(open_children) < cfg.max_open_children:
            # a child is due when the lookahead schedule passes filled + open by the least
            # quantity ``_child_qty`` places: half a minimum child, or of the remainder
            least = max(1, (min(room, self._min_child()) + 1) // 2)
            at = strategy.due_ns(self.filled + open_qty + least)
            if at is not None:
                due = at - cfg.lookahead_ns
        if resting:
            # behind once the schedule passes filled by a minimum child (``_least_shortfall``)
            at = strategy.due_ns(self.filled + self._least_shortfall())
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
        sweeping = must_complete and now_ns >= sweep_at
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
        if must_complete and now_ns < sweep_at < wake:
            wake = sweep_at
        stop_at = self._stop_at()
        if now_ns < stop_at < wake:
            wake = stop_at
        if now_ns < end < wake:
            wake = end
        if working:
            for c in self.book.open.values():
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
