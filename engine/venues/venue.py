"""Simulated venues, pure: the venue actor wraps one and feeds it messages and the time.

``LitVenue`` (an L3 book with background flow) and ``DarkVenue`` (midpoint matching
against hidden contra interest) share one protocol:

    handle(msg, now_ns) -> list[Message]   # advances to now first, then applies msg
    advance_to(now_ns) -> list[Message]    # fills of our resting orders meanwhile (ts = fill time)
    snapshot(now_ns) -> MarketDataUpdated

Decisions:
- Rejects of a new order are ``VenueOrderRejected`` (reasons in ``VenueReject``), the book
  untouched. Rejects of a cancel *or a replace* are ``VenueCancelRejected`` (FIX's
  OrderCancelReject answers both); the order stays live as it was.
- Event order for an accepted order: Accepted, then fills, then Cancelled for an IOC or
  market remainder (reason "ioc_remainder"). A market order is always IOC.
- FOK not fully fillable on arrival: Accepted then Cancelled (reason "fok_not_fillable")
  for the whole quantity, like an IOC remainder; nothing trades.
- Status DOWN (fault "down"): the venue is halted; new orders, replaces and cancels are
  rejected with "venue_down"; resting orders stay and no background event happens until
  "up". "degrade" only changes the published status. "reject_orders" rejects new orders
  ("venue_rejecting"); "drop_cancels" silently drops cancels (no reply: a lost message).
- Faults are independent: each kind keeps its own expiry. One with ``duration_ns`` ends
  by itself then (a "fault_expired" status change if the status moves), whatever other
  faults were injected meanwhile; one without lasts until "up", which ends every fault.
  Injecting a kind already active replaces its expiry. The status is DOWN while "down" is
  active, else DEGRADED while "degrade" is, else UP.
- Replace: ``quantity`` is the new total; new leaves = quantity - filled, must be > 0.
- Self-trades are not prevented: both sides get a fill.
"""

from __future__ import annotations

import enum
import random
from typing import Protocol

from engine.config import SessionConfig, VenueConfig
from engine.instruments import Instrument
from engine.market_view import MarketView
from engine.messages import (
    BookLevel,
    CancelVenueOrder,
    FaultKind,
    InjectVenueFault,
    Liquidity,
    MarketDataUpdated,
    Message,
    OrderType,
    PlaceVenueOrder,
    ReplaceVenueOrder,
    TimeInForce,
    VenueCancelRejected,
    VenueKind,
    VenueOrderAccepted,
    VenueOrderCancelled,
    VenueOrderFilled,
    VenueOrderRejected,
    VenueOrderReplaced,
    VenueStatus,
    VenueStatusChanged,
)
from engine.venues.book import BUY, Book, Fill
from engine.venues.dark_pool import DarkPool
from engine.venues.flow import BackgroundFlow

DEPTH_LEVELS = 5
FAULTS = frozenset(FaultKind) - {FaultKind.UP}  # UP ends them all


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


class Venue(Protocol):
    name: str
    kind: VenueKind
    status: VenueStatus

    def handle(self, msg: Message, now_ns: int) -> list[Message]: ...

    def advance_to(self, now_ns: int) -> list[Message]: ...

    def snapshot(self, now_ns: int) -> MarketDataUpdated: ...


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


class _VenueBase:
    """Validation, fault state, order bookkeeping and fill reporting shared by both kinds."""

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
        self.live: dict[str, OurOrder] = {}  # our working orders
        self._seen: set[str] = set()  # every order id ever placed (duplicates, too_late)
        # Active faults by kind, each with its own expiry (None: until "up"); insertion
        # order, so expiries at the same instant are applied deterministically.
        self._faults: dict[str, int | None] = {}
        self._fills = 0
        # Fill ids are unique per venue for the whole run: a venue restarted (``epoch``:
        # restarts so far) counts its fills from 1 again, so its ids carry the epoch, or
        # they would repeat ids of before the restart and be dropped as duplicates.
        self._fill_prefix = f"{self.name}-F" if not epoch else f"{self.name}-R{epoch}-F"

    # ----------------------------------------------------------------- protocol

    def handle(self, msg: Message, now_ns: int) -> list[Message]:
        out = self.advance_to(now_ns)
        if isinstance(msg, PlaceVenueOrder):
            out += self._place(msg, now_ns)
        elif isinstance(msg, CancelVenueOrder):
            out += self._cancel(msg, now_ns)
        elif isinstance(msg, ReplaceVenueOrder):
            out += self._replace(msg, now_ns)
        elif isinstance(msg, InjectVenueFault):
            out += self._fault(msg, now_ns)
        elif isinstance(msg, MarketDataUpdated):
            out += self._market_data(msg, now_ns)
        return out

    def advance_to(self, now_ns: int) -> list[Message]:
        out: list[Message] = []
        while (due := self._next_expiry()) is not None and due <= now_ns:
            # Up to the expiry under the faults in force, then without the expired ones.
            self._advance(due, out)
            for kind in [k for k, until in self._faults.items() if until == due]:
                del self._faults[kind]
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
            reason: str | None = VenueReject.VENUE_DOWN
        elif order is None:
            reason = self._why_not_live(msg.order_id)
        elif msg.quantity <= order.filled:
            reason = VenueReject.BAD_QUANTITY
        elif not self.instrument.on_lot(msg.quantity):
            reason = VenueReject.QUANTITY_OFF_LOT
        else:
            reason = self._check_price(msg.price) if msg.price is not None else None
        if (
            reason is None
            and msg.price is not None
            and order.post_only
            and self._would_cross(order.side, msg.price)
        ):
            reason = VenueReject.POST_ONLY_WOULD_CROSS
        if reason is not None:
            return [self._cancel_reject(msg.order_id, reason, now)]
        return self._apply_replace(order, msg, now)

    def _fault(self, msg: InjectVenueFault, now: int) -> list[Message]:
        if msg.fault == "up":
            self._faults.clear()
        elif msg.fault in FAULTS:
            self._faults.pop(msg.fault, None)  # re-injected: its new expiry, in order
            self._faults[msg.fault] = now + msg.duration_ns if msg.duration_ns else None
        else:
            return []
        return self._update_status(now, msg.fault)

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
        return [VenueStatusChanged(venue=self.name, status=status, reason=reason, ts=now)]

    # ---------------------------------------------------- kind-specific hooks

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


class LitVenue(_VenueBase):
    """A lit exchange: an L3 book shared by background flow and our orders."""

    kind = VenueKind.LIT

    def __init__(
        self,
        config: VenueConfig,
        instrument: Instrument,
        session: SessionConfig,
        seed: int,
        fundamental_seed: int | None = None,
        epoch: int = 0,
    ) -> None:
        super().__init__(config, instrument, session, seed, epoch)
        self.book = Book()
        self.flow = BackgroundFlow(
            self.book, config.flow, instrument, session, self.rng, self.live, fundamental_seed
        )
        self.elsewhere = MarketView(instrument.symbol)  # the other lit venues, for arbitrage

    def snapshot(self, now_ns: int) -> MarketDataUpdated:
        book = self.book
        return MarketDataUpdated(
            venue=self.name,
            instrument=self.instrument.symbol,
            kind=self.kind,
            status=self.status,
            bids=[BookLevel(p, q) for p, q in book.depth(BUY, DEPTH_LEVELS)],
            asks=[BookLevel(p, q) for p, q in book.depth(-BUY, DEPTH_LEVELS)],
            last_price=book.last_price,
            volume=book.volume,
            notional=book.notional,
            ts=now_ns,
        )

    def _market_data(self, msg: MarketDataUpdated, now: int) -> list[Message]:
        """Another lit venue's quotes: arbitrageurs trade away anything priced through them."""
        if msg.kind is not VenueKind.LIT or msg.venue == self.name:
            return []
        self.elsewhere.update(msg)
        if self.status is VenueStatus.DOWN:
            return []
        tops = [md for md in self.elsewhere.venues.values() if md.status is not VenueStatus.DOWN]
        bid = max(((md.bids[0].price, md.bids[0].quantity) for md in tops if md.bids), default=None)
        ask = min(
            ((md.asks[0].price, -md.asks[0].quantity) for md in tops if md.asks), default=None
        )
        ask = (ask[0], -ask[1]) if ask else None  # lowest offer; the larger size on a tie
        return [
            self._fill(self.live[f.maker_id], f.quantity, f.price, Liquidity.MAKER, ts)
            for ts, f in self.flow.arbitrage(now, bid, ask)
        ]

    def _advance(self, now: int, out: list[Message]) -> None:
        if self.status is VenueStatus.DOWN:
            self.flow.skip_to(now)
            return
        for ts, fill in self.flow.advance_to(now):
            out.append(
                self._fill(self.live[fill.maker_id], fill.quantity, fill.price, Liquidity.MAKER, ts)
            )

    def _execute(self, order: OurOrder, msg: PlaceVenueOrder, now: int) -> list[Message]:
        book, side = self.book, order.side
        self.live[order.order_id] = order
        if msg.tif is TimeInForce.FOK and not book.fillable(side, order.price, order.quantity):
            return self._remainder(order, "fok_not_fillable", now)
        if msg.order_type is OrderType.MARKET or msg.tif is not TimeInForce.DAY:
            out = self._report(book.take(order.order_id, side, order.quantity, order.price), now)
            out += self._remainder(order, "ioc_remainder", now)
        else:
            out = self._report(book.limit(order.order_id, side, order.price, order.quantity), now)
        self.flow.replenish(now)
        return out

    def _report(self, fills: list[Fill], now: int) -> list[Message]:
        """Our taker fills, and maker fills too if we traded with ourselves."""
        out: list[Message] = []
        for f in fills:
            maker = self.live.get(f.maker_id)
            if maker is not None:
                out.append(self._fill(maker, f.quantity, f.price, Liquidity.MAKER, now))
            out.append(self._fill(self.live[f.taker_id], f.quantity, f.price, Liquidity.TAKER, now))
        return out

    def _withdraw(self, order: OurOrder) -> int:
        return self.book.cancel(order.order_id)

    def _would_cross(self, side: int, price: int) -> bool:
        return self.book.crosses(side, price)

    def _apply_replace(self, order: OurOrder, msg: ReplaceVenueOrder, now: int) -> list[Message]:
        order.quantity = msg.quantity
        if msg.price is not None:
            order.price = msg.price
        fills = self.book.replace(order.order_id, order.leaves, msg.price)
        replaced = VenueOrderReplaced(
            venue=self.name,
            order_id=order.order_id,
            quantity=order.quantity,
            price=order.price,
            leaves=order.leaves,
            ts=now,
        )
        out: list[Message] = [replaced, *self._report(fills, now)]
        self.flow.replenish(now)
        return out


class DarkVenue(_VenueBase):
    """A dark pool: our orders rest hidden and cross at the lit mid with contra interest."""

    kind = VenueKind.DARK

    def __init__(
        self,
        config: VenueConfig,
        instrument: Instrument,
        session: SessionConfig,
        seed: int,
        epoch: int = 0,
    ) -> None:
        super().__init__(config, instrument, session, seed, epoch)
        self.pool = DarkPool(config.dark, instrument, session, self.rng)

    def snapshot(self, now_ns: int) -> MarketDataUpdated:
        return MarketDataUpdated(
            venue=self.name,
            instrument=self.instrument.symbol,
            kind=self.kind,
            status=self.status,
            last_price=self.pool.last_price,
            volume=self.pool.volume,
            notional=self.pool.notional,
            ts=now_ns,
        )

    def _advance(self, now: int, out: list[Message]) -> None:
        if self.status is VenueStatus.DOWN:
            self.pool.skip_to(now)
            return
        for cross in self.pool.advance_to(now):
            out.append(
                self._fill(
                    self.live[cross.order_id],
                    cross.quantity,
                    cross.price,
                    Liquidity.MIDPOINT,
                    cross.ts,
                )
            )

    def _market_data(self, msg: MarketDataUpdated, now: int) -> list[Message]:
        if msg.kind is not VenueKind.LIT:
            return []
        self.pool.market.update(msg)
        if self.status is VenueStatus.DOWN:
            return []
        return [
            self._fill(self.live[c.order_id], c.quantity, c.price, Liquidity.MIDPOINT, now)
            for c in self.pool.match(now)
        ]

    def _execute(self, order: OurOrder, msg: PlaceVenueOrder, now: int) -> list[Message]:
        self.live[order.order_id] = order
        pool = self.pool
        if (
            msg.tif is TimeInForce.FOK
            and pool.fillable(order.side, order.price, order.quantity, order.min_quantity)
            < order.quantity
        ):
            return self._remainder(order, "fok_not_fillable", now)
        pool.add(order.order_id, order.side, order.leaves, order.price, order.min_quantity)
        out: list[Message] = [
            self._fill(self.live[c.order_id], c.quantity, c.price, Liquidity.MIDPOINT, now)
            for c in self.pool.match(now)
        ]
        # A market order in the dark is a mid-pegged order without a limit: it rests if DAY.
        if msg.tif is not TimeInForce.DAY:
            self.pool.remove(order.order_id)
            out += self._remainder(order, "ioc_remainder", now)
        return out

    def _withdraw(self, order: OurOrder) -> int:
        self.pool.remove(order.order_id)
        return order.leaves

    def _would_cross(self, side: int, price: int) -> bool:
        return False  # nothing is displayed, so nothing can be crossed on arrival

    def _apply_replace(self, order: OurOrder, msg: ReplaceVenueOrder, now: int) -> list[Message]:
        order.quantity = msg.quantity
        if msg.price is not None:
            order.price = msg.price
        self.pool.update(order.order_id, order.leaves, order.price)
        replaced = VenueOrderReplaced(
            venue=self.name,
            order_id=order.order_id,
            quantity=order.quantity,
            price=order.price,
            leaves=order.leaves,
            ts=now,
        )
        fills = [
            self._fill(self.live[c.order_id], c.quantity, c.price, Liquidity.MIDPOINT, now)
            for c in self.pool.match(now)
        ]
        return [replaced, *fills]


def make_venue(
    config: VenueConfig, instrument: Instrument, session: SessionConfig, seed: int
) -> LitVenue | DarkVenue:
    """The venue of ``config.kind``."""
    cls = LitVenue if config.kind is VenueKind.LIT else DarkVenue
    return cls(config, instrument, session, seed)
