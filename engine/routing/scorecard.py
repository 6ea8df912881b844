"""The venue scorecard: what the router has learnt about each venue, per instrument.

Fed with every venue order the router sends and every venue event it receives (ack, fill,
cancel, reject), with market data (venue status, traded volume → queue outflow samples)
and with later mids (markouts). Counts are integers so the state is exact and
deterministic; estimates derived from them are floats (statistics).

The whole state, open orders and pending markouts included, round-trips through
``ScorecardState`` (a msgspec struct) so it is persisted with the audit trail and
survives restarts: the router gets better across runs. A saved state names the last
message of each venue it reflects (``applied``), so a restarted router replays the
journal's later events on top of it (``engine.routing.recovery.replay_scorecard``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from engine.clock import SECOND
from engine.messages import (
    MarketDataUpdated,
    Message,
    PlaceVenueOrder,
    Side,
    VenueCancelRejected,
    VenueKind,
    VenueOrderAccepted,
    VenueOrderCancelled,
    VenueOrderFilled,
    VenueOrderRejected,
    VenueStatus,
    VenueStatusChanged,
)

OUTFLOW_HISTORY = 64  # market-data intervals of traded volume kept per venue
DEGRADE_AFTER_REJECTS = 3  # consecutive rejects that mark a venue degraded
MARKOUT_HORIZON_NS = 5 * SECOND


class VenueStats(msgspec.Struct, kw_only=True):
    """Running counts for one (venue, instrument)."""

    venue: str
    instrument: str
    kind: VenueKind = VenueKind.LIT
    orders: int = 0
    acks: int = 0
    ack_ns_sum: int = 0
    rejects: int = 0
    reject_streak: int = 0
    resolved: int = 0  # venue orders that reached a terminal state
    hit: int = 0  # ... of which got at least one fill
    shares_sent: int = 0  # quantity of resolved orders
    shares_filled: int = 0
    first_fill_ns_sum: int = 0
    first_fills: int = 0
    fees: int = 0  # Σ fee price units (negative = rebates received)
    fee_shares: int = 0
    markout_sum: int = 0  # Σ qty·side·(mid − price), price units
    markout_shares: int = 0
    markout_bps_qty: float = 0.0  # Σ qty·bps
    cancels: int = 0
    cancel_too_late: int = 0
    last_volume: int | None = None
    outflows: list[int] = []  # traded shares per market-data interval, oldest first

    def status(self, reported: VenueStatus) -> VenueStatus:
        """The venue's word, worsened to degraded by a streak of rejects."""
        if reported is VenueStatus.UP and self.reject_streak >= DEGRADE_AFTER_REJECTS:
            return VenueStatus.DEGRADED
        return reported

    def fill_prob(self) -> float:
        """P(an order gets any fill), Laplace-smoothed so an unknown venue scores 1/2."""
        return (self.hit + 1) / (self.resolved + 2)

    def fill_ratio(self) -> float:
        """Share-weighted fill rate of resolved orders (1/2 with no data)."""
        return (self.shares_filled + 1) / (self.shares_sent + 2)

    def time_to_fill_ns(self) -> float | None:
        return self.first_fill_ns_sum / self.first_fills if self.first_fills else None

    def ack_latency_ns(self) -> float | None:
        return self.ack_ns_sum / self.acks if self.acks else None

    def fee_per_share(self) -> float | None:
        """Effective fee per share filled, price units; negative = net rebate."""
        return self.fees / self.fee_shares if self.fee_shares else None

    def markout_per_share(self) -> float | None:
        """side·(mid_{t+Δ} − price) per share, price units; negative = adverse selection."""
        return self.markout_sum / self.markout_shares if self.markout_shares else None

    def markout_bps(self) -> float | None:
        return self.markout_bps_qty / self.markout_shares if self.markout_shares else None

    def reject_rate(self) -> float:
        return self.rejects / self.orders if self.orders else 0.0

    def summary(self, reported: VenueStatus) -> dict[str, float]:
        """The values a routing decision records (absent estimates omitted); status is
        1 up, 0.5 degraded, 0 down."""
        out: dict[str, float] = {
            "fill_prob": round(self.fill_prob(), 6),
            "fill_ratio": round(self.fill_ratio(), 6),
            "reject_rate": round(self.reject_rate(), 6),
            "status": _STATUS_SCORE[self.status(reported)],
        }
        for name, value in (
            ("time_to_fill_ms", self.time_to_fill_ns()),
            ("fee_per_share", self.fee_per_share()),
            ("markout_per_share", self.markout_per_share()),
            ("markout_bps", self.markout_bps()),
        ):
            if value is not None:
                out[name] = round(value / 1e6 if name == "time_to_fill_ms" else value, 6)
        return out


_UP = VenueStatus.UP
_STATUS_SCORE = {VenueStatus.UP: 1.0, VenueStatus.DEGRADED: 0.5, VenueStatus.DOWN: 0.0}


class OpenOrder(msgspec.Struct, kw_only=True):
    venue: str
    instrument: str
    side: Side
    quantity: int
    placed_ns: int
    filled: int = 0


class PendingMarkout(msgspec.Struct, frozen=True, kw_only=True):
    due_ns: int
    venue: str
    instrument: str
    side: Side
    quantity: int
    price: int


class ScorecardState(msgspec.Struct, kw_only=True):
    """The persisted form: lists sorted by key, so equal states encode to equal bytes."""

    markout_horizon_ns: int = MARKOUT_HORIZON_NS
    venues: list[VenueStats] = []
    # per (venue, instrument), the status its book last published; per venue, a status
    # published for the whole venue (no instrument named), for instruments not heard of
    # since (a state saved before books named their instrument has only these)
    statuses: list[tuple[str, str, VenueStatus]] = []
    reported: list[tuple[str, VenueStatus]] = []
    open_orders: list[tuple[str, OpenOrder]] = []
    markouts: list[PendingMarkout] = []
    # per book (venue, instrument), the msg id of the last message from it (order event,
    # market data, status) the state reflects: a restarted router replays the journal's
    # later ones on top. Per book, not per venue: each book of a venue is a sender of its
    # own, its ids comparable only with its own
    applied_books: list[tuple[str, str, int]] = []
    # per venue, as states saved before kept it: not read (ids of several books mixed)
    applied: list[tuple[str, int]] = []


class Scorecard:
    """Per (venue, instrument) statistics fed by venue events. Iteration is always sorted."""

    __slots__ = (
        "_costs",
        "_markouts",
        "_open",
        "_reported",
        "_snapshots",
        "_stats",
        "_summaries",
        "_venue_wide",
        "applied",
        "markout_horizon_ns",
        "status_epoch",
    )

    def __init__(self, markout_horizon_ns: int = MARKOUT_HORIZON_NS) -> None:
        self.markout_horizon_ns = markout_horizon_ns
        self._stats: dict[tuple[str, str], VenueStats] = {}
        # (venue, instrument) → the status the venue's book of the instrument last
        # published. Per instrument, not per venue: in an engine of many instruments each
        # is a book actor of its own (a fault, a crash or a restart may touch one book
        # alone), and an instrument's routing must not move with news from another's book
        self._reported: dict[tuple[str, str], VenueStatus] = {}
        # venue → a status said for the whole venue: every instrument's until its own news
        self._venue_wide: dict[str, VenueStatus] = {}
        self._open: dict[str, OpenOrder] = {}
        self._markouts: list[PendingMarkout] = []  # appended in time order
        # Derived values per (venue, instrument), computed on first use and dropped
        # (``_touch``) by every update that changes an input of them: the summary a routing
        # decision records, and the rank cost per (fee prior, miss penalty). The router asks
        # for them on every decision; the counts behind them change far less often (acks,
        # cancels, market data ticks leave them alone). Every write to the statistics goes
        # through this class, so the caches cannot go stale.
        self._summaries: dict[tuple[str, str], dict[str, float]] = {}
        # The whole per-decision mapping (``summaries``) per (instrument, venues): the
        # same immutable-by-contract object is handed to every decision until any summary
        # is dropped (then all are: cheap, and a touch is rare next to decisions).
        self._snapshots: dict[tuple[str, tuple[str, ...]], dict[str, dict[str, float]]] = {}
        self._costs: dict[tuple[str, str], dict[tuple[float, float, bool], float]] = {}
        # bumped whenever a venue's reported status changes: lets callers cache what
        # depends on which venues are down
        self.status_epoch = 0
        # book (venue, instrument) → msg id of the last message from it the owner handled
        # (kept by the router node, persisted with the state): where a replay of the
        # journal resumes (``book_of`` says which book a venue's message is from)
        self.applied: dict[tuple[str, str], int] = {}

    # ------------------------------------------------------------------ queries

    def book_of(self, msg: Message) -> tuple[str, str] | None:
        """The book (venue, instrument) a venue's message comes from, for ``applied``:
        market data and status changes name it (a status for a whole venue: instrument
        ""); an order event's is its open order's. None: an order event of an order the
        scorecard does not hold open, which recording changes nothing in."""
        if type(msg) is MarketDataUpdated:
            return (msg.venue, msg.instrument)
        if type(msg) is VenueStatusChanged:
            return (msg.venue, msg.instrument or "")
        found = self._open.get(getattr(msg, "order_id", ""))
        return None if found is None else (found.venue, found.instrument)

    def stats(self, venue: str, instrument: str) -> VenueStats:
        key = (venue, instrument)
        found = self._stats.get(key)
        if found is None:
            found = self._stats[key] = VenueStats(venue=venue, instrument=instrument)
        return found

    def reported(self, venue: str, instrument: str) -> VenueStatus:
        """What the venue last said about itself for ``instrument`` (up until told
        otherwise)."""
        found = self._reported.get((venue, instrument))
        return found if found is not None else self._venue_wide.get(venue, _UP)

    def status(self, venue: str, instrument: str) -> VenueStatus:
        # ``stats(venue, instrument).status(reported(venue, instrument))`` inlined: the
        # router asks this for every venue of every placement (hundreds of thousands of
        # calls a run).
        key = (venue, instrument)
        found = self._stats.get(key)
        if found is None:  # first sight: create the entry, as stats() does
            found = self.stats(venue, instrument)
        reported = self._reported.get(key)
        if reported is None:
            reported = self._venue_wide.get(venue, _UP)
        if reported is _UP and found.reject_streak >= DEGRADE_AFTER_REJECTS:
            return VenueStatus.DEGRADED
        return reported

    def snapshot(self, venues: list[str], instrument: str) -> dict[str, dict[str, float]]:
        """``{v: stats(v, instrument).summary(reported(v, instrument))}`` in venue order, each a fresh
        dict (callers add to them)."""
        return {v: dict(self.summary(v, instrument)) for v in sorted(venues)}

    def summaries(self, venues: list[str], instrument: str) -> dict[str, dict[str, float]]:
        """``snapshot`` as one shared object, reused by every call with the same venues
        until a summary in it changes: read it, never add to it or to its dicts (copy
        first)."""
        key = (instrument, tuple(venues))
        out = self._snapshots.get(key)
        if out is None:
            cache = self._summaries
            out = {}
            for v in sorted(venues):
                found = cache.get((v, instrument))
                out[v] = found if found is not None else self.summary(v, instrument)
            self._snapshots[key] = out
        return out

    def summary(self, venue: str, instrument: str) -> dict[str, float]:
        """``stats(venue, instrument).summary(reported(venue, instrument))``, cached until
        it changes (shared: do not mutate)."""
        key = (venue, instrument)
        found = self._summaries.get(key)
        if found is None:
            found = self._summaries[key] = self.stats(venue, instrument).summary(
                self.reported(venue, instrument)
            )
        return found

    def outflow_samples(self, venue: str, instrument: str, intervals: int) -> list[int]:
        """Traded volume over ``intervals`` consecutive market-data intervals, one sample per
        window position: the ξ samples for Cont–Kukanov."""
        flows = self.stats(venue, instrument).outflows
        if len(flows) < intervals:
            return [sum(flows)] if flows else []
        return [sum(flows[i : i + intervals]) for i in range(len(flows) - intervals + 1)]

    def expected_cost(
        self,
        venue: str,
        instrument: str,
        fee_prior: float,
        miss_penalty: float,
        scheduled_fee: bool = False,
    ) -> float:
        """Rank key, price units per share (lower is better): fee, adverse selection, and a
        penalty for the chance of no fill or a reject. The fee is the one measured on the
        venue's fills (the prior until there are some), or with ``scheduled_fee`` always
        the prior: the venue's schedule for the order's tactic, where the measured one
        mixes maker and taker fills."""
        key = (venue, instrument)
        costs = self._costs.get(key)
        if costs is None:
            costs = self._costs[key] = {}
        found = costs.get((fee_prior, miss_penalty, scheduled_fee))
        if found is not None:
            return found
        s = self.stats(venue, instrument)
        fee = None if scheduled_fee else s.fee_per_share()
        markout = s.markout_per_share()
        cost = fee_prior if fee is None else fee
        cost -= markout or 0.0
        cost += (1.0 - s.fill_prob() + s.reject_rate()) * miss_penalty
        if self.status(venue, instrument) is VenueStatus.DEGRADED:
            cost += miss_penalty
        costs[(fee_prior, miss_penalty, scheduled_fee)] = cost
        return cost

    def rank(
        self,
        venues: list[str],
        instrument: str,
        fee_prior: dict[str, float],
        miss_penalty: float,
        scheduled_fee: bool = False,
    ) -> list[str]:
        """Venues best first (``expected_cost``); ties by name so the order is
        deterministic."""
        costs = self._costs
        keyed = []
        for v in venues:
            prior = fee_prior.get(v, 0.0)
            cached = costs.get((v, instrument))
            key = (prior, miss_penalty, scheduled_fee)
            cost = cached.get(key) if cached is not None else None
            if cost is None:
                cost = self.expected_cost(v, instrument, prior, miss_penalty, scheduled_fee)
            keyed.append((cost, v))
        keyed.sort()
        return [v for _, v in keyed]

    # ------------------------------------------------------------ invalidation

    def _touch(self, key: tuple[str, str]) -> None:
        """The statistics of ``key`` changed: drop what was derived from them."""
        self._summaries.pop(key, None)
        self._costs.pop(key, None)
        if self._snapshots:
            self._snapshots.clear()

    def _report(self, venue: str, instrument: str, status: VenueStatus) -> None:
        key = (venue, instrument)
        if self._reported.get(key) is not status:  # first news counts: the epoch moves
            self._reported[key] = status
            self.status_epoch += 1
            self._touch(key)

    def instruments_at(self, venue: str) -> list[str]:
        """The instruments the scorecard knows at ``venue``, in order."""
        known = {i for v, i in self._stats if v == venue}
        known.update(i for v, i in self._reported if v == venue)
        return sorted(known)

    # ------------------------------------------------------------------ updates

    def record(self, msg: Message, now_ns: int) -> None:
        """Update from a venue order sent, a venue event, market data or a status change."""
        handler = _HANDLERS.get(type(msg))
        if handler is not None:
            handler(self, msg, now_ns)

    def mark(self, instrument: str, mid: int, now_ns: int) -> None:
        """Settle markouts whose horizon has passed against the current mid."""
        due: list[PendingMarkout] = []
        keep: list[PendingMarkout] = []
        for m in self._markouts:
            (due if m.instrument == instrument and m.due_ns <= now_ns else keep).append(m)
        if not due:
            return
        self._markouts = keep
        for m in due:
            s = self.stats(m.venue, m.instrument)
            self._touch((m.venue, m.instrument))
            per_share = int(m.side) * (mid - m.price)
            s.markout_sum += m.quantity * per_share
            s.markout_shares += m.quantity
            s.markout_bps_qty += m.quantity * per_share / m.price * 1e4 if m.price else 0.0

    def _placed(self, msg: PlaceVenueOrder, now_ns: int) -> None:
        self._open[msg.order_id] = OpenOrder(
            venue=msg.venue,
            instrument=msg.instrument,
            side=msg.side,
            quantity=msg.quantity,
            placed_ns=now_ns,
        )
        s = self.stats(msg.venue, msg.instrument)
        s.orders += 1
        if s.rejects:  # the reject rate moved (without rejects it stays 0)
            self._touch((msg.venue, msg.instrument))

    def _accepted(self, msg: VenueOrderAccepted, now_ns: int) -> None:
        o = self._open.get(msg.order_id)
        if o is None:
            return
        s = self.stats(o.venue, o.instrument)
        s.acks += 1
        s.ack_ns_sum += now_ns - o.placed_ns
        if s.reject_streak:
            s.reject_streak = 0
            self._touch((o.venue, o.instrument))

    def _rejected(self, msg: VenueOrderRejected, now_ns: int) -> None:
        o = self._open.pop(msg.order_id, None)
        if o is None:
            return
        s = self.stats(o.venue, o.instrument)
        if msg.reason == "post_only_would_cross":  # our quote was stale, the venue did right:
            s.orders -= 1  # as if never sent
            self._touch((o.venue, o.instrument))
            return
        s.rejects += 1
        s.reject_streak += 1
        self._touch((o.venue, o.instrument))
        if msg.reason == "venue_down":
            self._report(o.venue, o.instrument, VenueStatus.DOWN)

    def _filled(self, msg: VenueOrderFilled, now_ns: int) -> None:
        o = self._open.get(msg.order_id)
        if o is None:
            return
        s = self.stats(o.venue, o.instrument)
        self._touch((o.venue, o.instrument))
        if o.filled == 0:
            s.first_fill_ns_sum += now_ns - o.placed_ns
            s.first_fills += 1
        o.filled += msg.quantity
        s.fees += msg.fee
        s.fee_shares += msg.quantity
        s.reject_streak = 0
        self._markouts.append(
            PendingMarkout(
                due_ns=now_ns + self.markout_horizon_ns,
                venue=o.venue,
                instrument=o.instrument,
                side=o.side,
                quantity=msg.quantity,
                price=msg.price,
            )
        )
        if msg.leaves == 0:
            self._resolve(msg.order_id)

    def _cancelled(self, msg: VenueOrderCancelled, now_ns: int) -> None:
        o = self._open.get(msg.order_id)
        if o is not None:
            self.stats(o.venue, o.instrument).cancels += 1
            self._resolve(msg.order_id)

    def _cancel_rejected(self, msg: VenueCancelRejected, now_ns: int) -> None:
        o = self._open.get(msg.order_id)
        if o is None:
            return
        s = self.stats(o.venue, o.instrument)
        if msg.reason == "too_late":
            s.cancel_too_late += 1
        elif msg.reason == "unknown_order":
            self._resolve(msg.order_id)

    def _resolve(self, order_id: str) -> None:
        o = self._open.pop(order_id)
        s = self.stats(o.venue, o.instrument)
        self._touch((o.venue, o.instrument))
        s.resolved += 1
        s.hit += o.filled > 0
        s.shares_sent += o.quantity
        s.shares_filled += min(o.filled, o.quantity)

    def _market_data(self, msg: MarketDataUpdated, now_ns: int) -> None:
        s = self.stats(msg.venue, msg.instrument)
        s.kind = msg.kind
        self._report(msg.venue, msg.instrument, msg.status)
        if s.last_volume is not None and msg.volume >= s.last_volume:
            s.outflows.append(msg.volume - s.last_volume)
            del s.outflows[:-OUTFLOW_HISTORY]
        s.last_volume = msg.volume

    def _status_changed(self, msg: VenueStatusChanged, now_ns: int) -> None:
        """A book's status for its instrument; without one (a venue of old, or a test
        speaking for the whole venue) every instrument the scorecard knows there."""
        venue = msg.venue
        if msg.instrument is not None:
            instruments = [msg.instrument]
        else:
            instruments = self.instruments_at(venue)
            if self._venue_wide.get(venue) is not msg.status:
                self._venue_wide[venue] = msg.status
                self.status_epoch += 1
                self._snapshots.clear()
        for instrument in instruments:
            self._report(venue, instrument, msg.status)
            if msg.status is VenueStatus.UP:  # a venue back up starts with a clean streak
                key = (venue, instrument)
                found = self._stats.get(key)
                if found is not None and found.reject_streak:
                    found.reject_streak = 0
                    self._touch(key)

    # -------------------------------------------------------------- persistence

    def to_state(self) -> ScorecardState:
        return ScorecardState(
            markout_horizon_ns=self.markout_horizon_ns,
            venues=[
                msgspec.structs.replace(s, outflows=list(s.outflows))
                for _, s in sorted(self._stats.items())
            ],
            statuses=sorted((v, i, status) for (v, i), status in self._reported.items()),
            reported=sorted(self._venue_wide.items()),
            open_orders=[(k, msgspec.structs.replace(o)) for k, o in sorted(self._open.items())],
            markouts=list(self._markouts),
            applied_books=sorted((v, i, n) for (v, i), n in self.applied.items()),
        )

    @classmethod
    def from_state(cls, state: ScorecardState) -> Scorecard:
        card = cls(state.markout_horizon_ns)
        for s in state.venues:
            card._stats[(s.venue, s.instrument)] = msgspec.structs.replace(
                s, outflows=list(s.outflows)
            )
        card._venue_wide = dict(state.reported)
        card._reported = {(v, i): status for v, i, status in state.statuses}
        card._open = {k: msgspec.structs.replace(o) for k, o in state.open_orders}
        # in the stored order, which is the order the fills came in: ``mark`` settles them
        # (and adds up their float bps) in that order, so a restored card goes on exactly
        # as the saved one would have, and saves to the same bytes
        card._markouts = list(state.markouts)
        card.applied = {(v, i): n for v, i, n in state.applied_books}
        return card

    def to_dict(self) -> dict:
        return msgspec.to_builtins(self.to_state())

    @classmethod
    def from_dict(cls, data: dict) -> Scorecard:
        return cls.from_state(msgspec.convert(data, ScorecardState))

    def to_json(self) -> bytes:
        return msgspec.json.encode(self.to_state())

    @classmethod
    def from_json(cls, data: bytes) -> Scorecard:
        return cls.from_state(msgspec.json.decode(data, type=ScorecardState))


_HANDLERS: dict[type[Message], Callable[[Scorecard, Any, int], None]] = {
    PlaceVenueOrder: Scorecard._placed,
    VenueOrderAccepted: Scorecard._accepted,
    VenueOrderRejected: Scorecard._rejected,
    VenueOrderFilled: Scorecard._filled,
    VenueOrderCancelled: Scorecard._cancelled,
    VenueCancelRejected: Scorecard._cancel_rejected,
    MarketDataUpdated: Scorecard._market_data,
    VenueStatusChanged: Scorecard._status_changed,
}
