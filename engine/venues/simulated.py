"""What every simulated venue shares: order checks, faults, fill reporting, and the host
contract (``engine.contract.Hosted``) that addresses its events.

A venue's matching speaks in bare events: ``process(msg, now_ns)`` advances to ``now_ns``
and applies one command; ``advance_to(now_ns)`` reports what happened to our resting
orders meanwhile. ``handle``/``on_wake`` address those events: an order event to the
actor that placed the order, a status change to the trail and to every subscriber, and a
market-data snapshot to every subscriber at each publication. The rules both kinds follow
are in ``docs/venues.md``.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Sequence

import msgspec

from engine.config import SessionConfig, VenueConfig
from engine.contract import JOURNAL, Outbox
from engine.faults import VENUE_FAULTS, describe_trigger
from engine.instruments import Instrument
from engine.messages import (
    CancelVenueOrder,
    FaultEnded,
    FaultKind,
    FaultStarted,
    InjectFault,
    InjectVenueFault,
    Liquidity,
    MarketDataUpdated,
    Message,
    OrderType,
    PlaceVenueOrder,
    ReplaceVenueOrder,
    SubscribeMarketData,
    VenueCancelRejected,
    VenueKind,
    VenueOrderAccepted,
    VenueOrderCancelled,
    VenueOrderFilled,
    VenueOrderRejected,
    VenueOrderReplaced,
    VenueOrderStatus,
    VenueOrderStatusRequest,
    VenueStatus,
    VenueStatusChanged,
)
from engine.venues.book import OrderId

FAULTS = VENUE_FAULTS - {FaultKind.UP}  # UP ends them all
STORM_PIECES = 20  # a partial-fill storm splits a fill into up to this many pieces


_COMMANDS = (
    PlaceVenueOrder,
    CancelVenueOrder,
    ReplaceVenueOrder,
    VenueOrderStatusRequest,
    InjectVenueFault,
    InjectFault,
    MarketDataUpdated,
)
_ORDER_EVENTS = (
    VenueOrderAccepted,
    VenueOrderRejected,
    VenueOrderFilled,
    VenueOrderCancelled,
    VenueOrderReplaced,
    VenueCancelRejected,
)


class VenueReject(enum.StrEnum):
    VENUE_DOWN = "venue_down"
    VENUE_REJECTING = "venue_rejecting"
    UNKNOWN_INSTRUMENT = "unknown_instrument"
    DUPLICATE_ORDER_ID = "duplicate_order_id"
    BAD_QUANTITY = "bad_quantity"
    QUANTITY_OFF_LOT = "quantity_off_lot"
    MISSING_PRICE = "missing_price"
    BAD_PRICE = "bad_price"
    PRICE_OFF_TICK = "price_off_tick"
    POST_ONLY_WOULD_CROSS = "post_only_would_cross"
    UNKNOWN_ORDER = "unknown_order"
    TOO_LATE = "too_late"


class OurOrder:
    """What the venue remembers of one of our orders while it is live."""

    __slots__ = ("filled", "min_quantity", "order_id", "post_only", "price", "quantity", "side")

    def __init__(self, msg: PlaceVenueOrder) -> None:
        self.order_id = msg.order_id
        self.side = int(msg.side)
        self.quantity = msg.quantity
        self.filled = 0
        self.price = msg.price if msg.order_type is OrderType.LIMIT else None
        self.post_only = msg.post_only
        self.min_quantity = msg.min_quantity

    @property
    def leaves(self) -> int:
        return self.quantity - self.filled


class SimulatedVenue:
    """Order checks, fault state, order bookkeeping, fill reporting and addressing shared
    by both kinds; a kind supplies the matching (the hooks at the end)."""

    kind: VenueKind

    def __init__(
        self,
        config: VenueConfig,
        instrument: Instrument,
        session: SessionConfig,
        seed: int,
        epoch: int = 0,
    ) -> None:
        self.config = config
        self.name = config.name
        self.instrument = instrument
        self.session = session
        self.rng = random.Random(seed)
        self.status = VenueStatus.UP
        self.now = session.open_ns
        self.live: dict[OrderId, OurOrder] = {}  # our working orders
        self._seen: set[str] = set()  # every order id ever placed (duplicates, too_late)
        # Active faults by kind, each with its own expiry (None: until "up"); insertion
        # order, so expiries at the same instant are applied deterministically.
        self._faults: dict[FaultKind, int | None] = {}
        self._stale: MarketDataUpdated | None = None  # the feed frozen by stale_data
        self._fault_records: list[Message] = []  # faults started and ended, for the trail
        self._fills = 0
        # Fill ids are unique per venue for the whole run: a venue restarted (``epoch``:
        # restarts so far) counts its fills from 1 again, so its ids carry the epoch, or
        # they would repeat ids of before the restart and be dropped as duplicates.
        self.epoch = epoch
        self._fill_prefix = f"{self.name}-F" if not epoch else f"{self.name}-R{epoch}-F"
        # Addressing: who placed each order (its events go back there), who reads the feed,
        # when the next market data goes out (None: not open yet, or closed).
        self.owners: dict[str, str] = {}
        # Every fill sent per order, as sent (storm pieces too): an order status answers
        # with them, so a router that lost one on the way can book it.
        self.sent_fills: dict[str, list[VenueOrderFilled]] = {}
        self.subscribers: list[str] = []
        self._publish_at: int | None = None

    # ------------------------------------------------------------ host contract

    def start(
        self, now_ns: int, *, feeds: Sequence[str] = (), subscribers: Sequence[str] = ()
    ) -> Outbox:
        """Open: subscribe to ``feeds`` (the lit venues whose quotes this one reads) and
        publish one interval after the open. A restarted venue (``epoch`` > 0: an exchange
        reset) has forgotten its subscribers, and nobody subscribes again: it takes back
        ``subscribers`` (its market's), each with a snapshot."""
        symbol = self.instrument.symbol
        out: Outbox = [
            (feed, SubscribeMarketData(subscriber=self.name, instrument=symbol)) for feed in feeds
        ]
        if self.epoch:
            for subscriber in subscribers:
                out += self._subscribe(subscriber, now_ns)
        self._publish_at = max(now_ns, self.session.open_ns) + self.config.md_interval_ns
        return out

    def handle(self, msg: Message, now_ns: int, sender: str | None = None) -> Outbox:
        """One delivered message. Events about an order go to whoever placed it; after a
        restart the venue knows no owner, and answers whoever cancels or replaces (a
        router reconciling learns "unknown_order")."""
        if msg.__class__ is MarketDataUpdated:  # most of a day's deliveries: no owner to note
            return self._address(self.process(msg, now_ns), now_ns)
        if isinstance(msg, SubscribeMarketData):
            # current quotes: a dark pool asks again when its view is stale
            out = self._address(self.advance_to(now_ns), now_ns)
            return out + self._subscribe(msg.subscriber, now_ns)
        if not isinstance(msg, _COMMANDS):
            return []
        if sender is not None:
            if isinstance(msg, PlaceVenueOrder):
                self.owners[msg.order_id] = sender
            elif isinstance(msg, (CancelVenueOrder, ReplaceVenueOrder)):
                self.owners.setdefault(msg.order_id, sender)
        if isinstance(msg, VenueOrderStatusRequest):
            out = self._address(self.advance_to(now_ns), now_ns)
            answer = self._status_of(msg.order_id, now_ns)
            asker = sender if sender is not None else self.owners.get(msg.order_id)
            return out if asker is None else [*out, (asker, answer)]
        return self._address(self.process(msg, now_ns), now_ns)

    def on_wake(self, now_ns: int) -> Outbox:
        """A publication: what happened meanwhile, then a snapshot to every subscriber."""
        out = self._address(self.advance_to(now_ns), now_ns)
        out += self._publication(now_ns)
        close = self.session.close_ns
        self._publish_at = now_ns + self.config.md_interval_ns if now_ns < close else None
        return out

    def next_wake_ns(self) -> int | None:
        return self._publish_at

    def _subscribe(self, subscriber: str, now: int) -> Outbox:
        if subscriber not in self.subscribers:
            self.subscribers.append(subscriber)
        return [(subscriber, self._feed(now))]

    def _publication(self, now: int) -> Outbox:
        snapshot = self._feed(now)
        return [(subscriber, snapshot) for subscriber in self.subscribers]

    def _feed(self, now: int) -> MarketDataUpdated:
        """The snapshot subscribers get: the venue's own, unless a fault bends it."""
        if not self._faults:
            return self.snapshot(now)
        if self._stale is not None:  # the same quotes and time, again and again
            return self._stale
        snapshot = self.snapshot(now)
        if FaultKind.CROSSED_DATA in self._faults and snapshot.bids and snapshot.asks:
            # sides swapped: the best bid is above the best ask
            return msgspec.structs.replace(snapshot, bids=snapshot.asks, asks=snapshot.bids)
        return snapshot

    def _address(self, events: list[Message], now: int) -> Outbox:
        if not events and not self._fault_records:  # most deliveries: nothing to address
            return []
        out: Outbox = []
        if self._fault_records:
            out += [(JOURNAL, record) for record in self._fault_records]
            self._fault_records.clear()
        storm = FaultKind.PARTIAL_FILLS in self._faults
        for event in events:
            if isinstance(event, VenueStatusChanged):
                out.append((JOURNAL, event))
                out += [(subscriber, event) for subscriber in self.subscribers]
                out += self._publication(now)
            elif isinstance(event, _ORDER_EVENTS):
                owner = self.owners.get(event.order_id)
                if owner is None:
                    continue
                if isinstance(event, VenueOrderFilled):
                    pieces = self._pieces(event) if storm else [event]
                    self.sent_fills.setdefault(event.order_id, []).extend(pieces)
                    out += [(owner, piece) for piece in pieces]
                else:
                    out.append((owner, event))
        return out

    def _status_of(self, order_id: str, now: int) -> VenueOrderStatus:
        """Where an order stands, whatever the venue's state (the order store answers
        even while the venue is down)."""
        fills = tuple(self.sent_fills.get(order_id, ()))
        order = self.live.get(order_id)
        if order is not None:
            state, leaves = "live", order.leaves
        else:
            state, leaves = ("done" if order_id in self._seen else "unknown"), 0
        filled = sum(f.quantity for f in fills)
        return VenueOrderStatus(
            venue=self.name,
            order_id=order_id,
            state=state,
            filled=filled,
            leaves=leaves,
            fills=fills,
            ts=now,
        )

    def _pieces(self, fill: VenueOrderFilled) -> list[VenueOrderFilled]:
        """A partial-fill storm: ``fill`` in up to ``STORM_PIECES`` pieces of whole lots,
        each with its own fill id and the leaves after it."""
        lots = fill.quantity // self.instrument.lot
        n = min(lots, STORM_PIECES)
        if n < 2:
            return [fill]
        fee_per_share = fill.fee // fill.quantity  # fees are per share
        out, left = [], fill.quantity
        for i in range(n):
            qty = (lots // n + (i < lots % n)) * self.instrument.lot
            if i == n - 1:
                qty = left  # an odd lot, if any, with the last piece
            left -= qty
            out.append(
                msgspec.structs.replace(
                    fill,
                    fill_id=f"{fill.fill_id}.{i + 1}",
                    quantity=qty,
                    fee=fee_per_share * qty,
                    leaves=fill.leaves + left,
                )
            )
        return out

    # ------------------------------------------------------------ matching

    def process(self, msg: Message, now_ns: int) -> list[Message]:
        """Advance to ``now_ns``, then apply ``msg``: the venue's events, unaddressed."""
        out = self.advance_to(now_ns)
        if msg.__class__ is MarketDataUpdated:  # the most frequent, first
            out += self._market_data(msg, now_ns)
        elif isinstance(msg, PlaceVenueOrder):
            out += self._place(msg, now_ns)
        elif isinstance(msg, CancelVenueOrder):
            out += self._cancel(msg, now_ns)
        elif isinstance(msg, ReplaceVenueOrder):
            out += self._replace(msg, now_ns)
        elif isinstance(msg, (InjectVenueFault, InjectFault)):
            out += self._fault(msg, now_ns)
        return out

    def advance_to(self, now_ns: int) -> list[Message]:
        """Fills of our resting orders up to ``now_ns`` (each at its own time), and the
        status changes of faults that expired meanwhile."""
        out: list[Message] = []
        if not self._faults:  # the common case: no fault to expire on the way
            self._advance(now_ns, out)
            if now_ns > self.now:
                self.now = now_ns
            return out
        while (due := self._next_expiry()) is not None and due <= now_ns:
            # Up to the expiry under the faults in force, then without the expired ones.
            self._advance(due, out)
            for kind in [k for k, until in self._faults.items() if until == due]:
                self._end_fault(kind, "expired", due)
            out += self._update_status(due, "fault_expired")
        self._advance(now_ns, out)
        self.now = max(self.now, now_ns)
        return out

    # ----------------------------------------------------------------- commands

    def _place(self, msg: PlaceVenueOrder, now: int) -> list[Message]:
        reason = self._check_new(msg)
        if reason is not None:
            return [self._reject(msg.order_id, reason, now)]
        self._seen.add(msg.order_id)
        order = OurOrder(msg)
        accepted = VenueOrderAccepted(
            venue=self.name, order_id=msg.order_id, leaves=msg.quantity, ts=now
        )
        return [accepted, *self._execute(order, msg, now)]

    def _cancel(self, msg: CancelVenueOrder, now: int) -> list[Message]:
        if self.status is VenueStatus.DOWN:
            return [self._cancel_reject(msg.order_id, VenueReject.VENUE_DOWN, now)]
        if FaultKind.DROP_CANCELS in self._faults:
            return []
        order = self.live.get(msg.order_id)
        if order is None:
            return [self._cancel_reject(msg.order_id, self._why_not_live(msg.order_id), now)]
        leaves = self._withdraw(order)
        del self.live[msg.order_id]
        return [
            VenueOrderCancelled(
                venue=self.name, order_id=msg.order_id, cancelled=leaves, reason="cancelled", ts=now
            )
        ]

    def _replace(self, msg: ReplaceVenueOrder, now: int) -> list[Message]:
        order = self.live.get(msg.order_id)
        if self.status is VenueStatus.DOWN:
            reason: str = VenueReject.VENUE_DOWN
        elif order is None:
            reason = self._why_not_live(msg.order_id)
        else:
            checked = self._check_replace(order, msg)
            if checked is None:
                return self._apply_replace(order, msg, now)
            reason = checked
        return [self._cancel_reject(msg.order_id, reason, now)]

    def _fault(self, msg: InjectVenueFault | InjectFault, now: int) -> list[Message]:
        """Start a fault (journaled, with its trigger if it had one) or, for ``up``, end
        them all; a fault injected again ends and starts anew with its new expiry."""
        kind = msg.fault
        if kind == FaultKind.UP:
            for active in list(self._faults):
                self._end_fault(active, "up", now)
        elif kind in FAULTS:
            if kind in self._faults:
                self._end_fault(kind, "reinjected", now)
            self._faults[kind] = now + msg.duration_ns if msg.duration_ns else None
            if kind is FaultKind.STALE_DATA:
                self._stale = self.snapshot(now)
            after = msg.after if isinstance(msg, InjectFault) else None
            cause = describe_trigger(after) if after is not None else ""
            started = FaultStarted(
                fault=kind, target=self.name, duration_ns=msg.duration_ns, cause=cause, ts=now
            )
            self._fault_records.append(started)
        else:
            return []
        return self._update_status(now, kind)

    def _end_fault(self, kind: FaultKind, reason: str, now: int) -> None:
        del self._faults[kind]
        if kind is FaultKind.STALE_DATA:
            self._stale = None
        self._fault_records.append(FaultEnded(fault=kind, target=self.name, reason=reason, ts=now))

    def _market_data(self, msg: MarketDataUpdated, now: int) -> list[Message]:
        return []

    # ------------------------------------------------------------------ helpers

    def _check_new(self, msg: PlaceVenueOrder) -> str | None:
        if self.status is VenueStatus.DOWN:
            return VenueReject.VENUE_DOWN
        if FaultKind.REJECT_ORDERS in self._faults:
            return VenueReject.VENUE_REJECTING
        if msg.instrument != self.instrument.symbol:
            return VenueReject.UNKNOWN_INSTRUMENT
        if msg.order_id in self._seen:
            return VenueReject.DUPLICATE_ORDER_ID
        if msg.quantity <= 0:
            return VenueReject.BAD_QUANTITY
        if not self.instrument.on_lot(msg.quantity):
            return VenueReject.QUANTITY_OFF_LOT
        if msg.order_type is OrderType.LIMIT:
            if msg.price is None:
                return VenueReject.MISSING_PRICE
            reason = self._check_price(msg.price)
            if reason is not None:
                return reason
            if msg.post_only and self._would_cross(int(msg.side), msg.price):
                return VenueReject.POST_ONLY_WOULD_CROSS
        return None

    def _check_replace(self, order: OurOrder, msg: ReplaceVenueOrder) -> str | None:
        if msg.quantity <= order.filled:
            return VenueReject.BAD_QUANTITY
        if not self.instrument.on_lot(msg.quantity):
            return VenueReject.QUANTITY_OFF_LOT
        if msg.price is None:
            return None
        reason = self._check_price(msg.price)
        if reason is None and order.post_only and self._would_cross(order.side, msg.price):
            return VenueReject.POST_ONLY_WOULD_CROSS
        return reason

    def _check_price(self, price: int) -> str | None:
        if price <= 0:
            return VenueReject.BAD_PRICE
        if not self.instrument.on_tick(price):
            return VenueReject.PRICE_OFF_TICK
        return None

    def _why_not_live(self, order_id: str) -> str:
        return VenueReject.TOO_LATE if order_id in self._seen else VenueReject.UNKNOWN_ORDER

    def _fill(
        self, order: OurOrder, qty: int, price: int, liquidity: Liquidity, ts: int
    ) -> VenueOrderFilled:
        """Book a fill of one of our orders; forgets the order once it is done."""
        order.filled += qty
        if not order.leaves:
            self.live.pop(order.order_id, None)
        self._fills += 1
        fee_per_share = (
            self.config.taker_fee if liquidity is Liquidity.TAKER else self.config.maker_fee
        )
        return VenueOrderFilled(
            venue=self.name,
            order_id=order.order_id,
            fill_id=f"{self._fill_prefix}{self._fills}",
            quantity=qty,
            price=price,
            liquidity=liquidity,
            fee=fee_per_share * qty,
            leaves=order.leaves,
            ts=ts,
        )

    def _remainder(self, order: OurOrder, reason: str, now: int) -> list[Message]:
        self.live.pop(order.order_id, None)
        if not order.leaves:
            return []
        return [
            VenueOrderCancelled(
                venue=self.name,
                order_id=order.order_id,
                cancelled=order.leaves,
                reason=reason,
                ts=now,
            )
        ]

    def _reject(self, order_id: str, reason: str, now: int) -> VenueOrderRejected:
        return VenueOrderRejected(venue=self.name, order_id=order_id, reason=reason, ts=now)

    def _cancel_reject(self, order_id: str, reason: str, now: int) -> VenueCancelRejected:
        return VenueCancelRejected(venue=self.name, order_id=order_id, reason=reason, ts=now)

    def _next_expiry(self) -> int | None:
        if not self._faults:  # the common case, at every message
            return None
        return min((until for until in self._faults.values() if until is not None), default=None)

    def _update_status(self, now: int, reason: str) -> list[Message]:
        """The status the active faults make; a status change if it moved."""
        if FaultKind.DOWN in self._faults:
            status = VenueStatus.DOWN
        elif FaultKind.DEGRADE in self._faults:
            status = VenueStatus.DEGRADED
        else:
            status = VenueStatus.UP
        if status is self.status:
            return []
        self.status = status
        return [
            VenueStatusChanged(
                venue=self.name,
                status=status,
                reason=reason,
                instrument=self.instrument.symbol,
                ts=now,
            )
        ]

    # ---------------------------------------------------- kind-specific hooks

    def snapshot(self, now_ns: int) -> MarketDataUpdated:
        raise NotImplementedError

    def _advance(self, now: int, out: list[Message]) -> None:
        raise NotImplementedError

    def _execute(self, order: OurOrder, msg: PlaceVenueOrder, now: int) -> list[Message]:
        raise NotImplementedError

    def _withdraw(self, order: OurOrder) -> int:
        raise NotImplementedError

    def _would_cross(self, side: int, price: int) -> bool:
        raise NotImplementedError

    def _apply_replace(self, order: OurOrder, msg: ReplaceVenueOrder, now: int) -> list[Message]:
        raise NotImplementedError
