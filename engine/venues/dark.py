"""A simulated dark pool: our orders rest hidden and cross at the current lit midpoint
with contra interest, part of it informed (the matching is ``engine.venues.dark_pool``).

The pool crosses only on a fresh view of the lit quotes. An order arriving while its view
is stale (the lit feeds publish every ``md_interval_ns``) makes it ask each lit venue for
its current quotes (a ``SubscribeMarketData`` again: a venue answers a subscription with a
snapshot). A DAY order rests meanwhile; an IOC or FOK is held until the answers are in,
then executes (fills, or "ioc_remainder"/"fok_not_fillable") as if it arrived then.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from engine.config import FlowConfig, SessionConfig, VenueConfig
from engine.contract import Outbox
from engine.instruments import Instrument
from engine.messages import (
    Liquidity,
    MarketDataUpdated,
    Message,
    PlaceVenueOrder,
    ReplaceVenueOrder,
    SubscribeMarketData,
    TimeInForce,
    VenueKind,
    VenueOrderReplaced,
    VenueStatus,
)
from engine.venues.book import Book
from engine.venues.dark_pool import DarkPool
from engine.venues.flow import BackgroundFlow
from engine.venues.simulated import OurOrder, SimulatedVenue


class DarkVenue(SimulatedVenue):
    """A dark pool: our orders rest hidden and cross at the lit mid with contra interest.

    ``fundamental_seed`` is the lit venues' (``LitVenue``): the pool's informed contra
    know that fundamental ahead of time. Without one, every contra block is uninformed.
    """

    kind = VenueKind.DARK

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
        fundamental = (
            None
            if fundamental_seed is None
            else shared_fundamental(config.flow, instrument, session, fundamental_seed)
        )
        self.pool = DarkPool(config.dark, instrument, session, self.rng, fundamental)
        self.feeds: tuple[str, ...] = ()  # the lit venues whose quotes it reads
        self.held: list[tuple[OurOrder, PlaceVenueOrder]] = []  # IOC/FOK awaiting quotes
        self._asked_at: int | None = None  # when it last asked for fresh quotes
        self._ask = False

    def start(
        self, now_ns: int, *, feeds: Sequence[str] = (), subscribers: Sequence[str] = ()
    ) -> Outbox:
        self.feeds = tuple(feeds)
        return super().start(now_ns, feeds=feeds, subscribers=subscribers)

    def handle(self, msg: Message, now_ns: int, sender: str | None = None) -> Outbox:
        out = super().handle(msg, now_ns, sender)
        if self._ask:
            self._ask, self._asked_at = False, now_ns
            symbol = self.instrument.symbol
            ask = SubscribeMarketData(subscriber=self.name, instrument=symbol)
            out += [(feed, ask) for feed in self.feeds]
        return out

    def snapshot(self, now_ns: int) -> MarketDataUpdated:
        return MarketDataUpdated(
            venue=self.name,
            instrument=self.instrument.symbol,
            kind=self.kind,
            status=self.status,
            last_price=self.pool.last_price,
            volume=self.pool.volume,
            notional=self.pool.notional,
            directional_volume=self.pool.directional,
            ts=now_ns,
        )

    def _advance(self, now: int, out: list[Message]) -> None:
        if self.status is VenueStatus.DOWN:
            self.pool.skip_to(now)
            return
        crosses = self.pool.advance_to(now)
        if crosses:  # rarely: most wakes cross nothing of ours
            out.extend(
                self._fill(self.live[c.order_id], c.quantity, c.price, Liquidity.MIDPOINT, c.ts)
                for c in crosses
            )

    def _market_data(self, msg: MarketDataUpdated, now: int) -> list[Message]:
        if msg.kind is not VenueKind.LIT:
            return []
        self.pool.market.update(msg)
        if self.status is VenueStatus.DOWN:
            return []
        out: list[Message] = self._crosses(now)
        if self.held and not self.pool.stale(now):
            held, self.held = self.held, []
            for order, place in held:
                out += self._execute_now(order, place, now)
        return out

    def _execute(self, order: OurOrder, msg: PlaceVenueOrder, now: int) -> list[Message]:
        self.live[order.order_id] = order
        if self.pool.stale(now):
            self._ask_for_quotes(now)
            if msg.tif is not TimeInForce.DAY:
                self.held.append((order, msg))
                return []
        return self._execute_now(order, msg, now)

    def _execute_now(self, order: OurOrder, msg: PlaceVenueOrder, now: int) -> list[Message]:
        pool = self.pool
        if (
            msg.tif is TimeInForce.FOK
            and pool.fillable(order.side, order.price, order.quantity, order.min_quantity, now)
            < order.quantity
        ):
            return self._remainder(order, "fok_not_fillable", now)
        pool.add(order.order_id, order.side, order.leaves, order.price, order.min_quantity)
        out = self._crosses(now)
        # A market order in the dark is a mid-pegged order without a limit: it rests if DAY.
        if msg.tif is not TimeInForce.DAY:
            self.pool.remove(order.order_id)
            out += self._remainder(order, "ioc_remainder", now)
        return out

    def _crosses(self, now: int) -> list[Message]:
        return [
            self._fill(self.live[c.order_id], c.quantity, c.price, Liquidity.MIDPOINT, now)
            for c in self.pool.match(now)
        ]

    def _ask_for_quotes(self, now: int) -> None:
        """Ask the lit venues for their quotes, unless the answers are on their way."""
        asked = self._asked_at
        if asked is None or now - asked > self.pool.max_quote_age_ns:
            self._ask = True

    def _withdraw(self, order: OurOrder) -> int:
        self.pool.remove(order.order_id)
        self.held = [(o, m) for o, m in self.held if o is not order]
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
        return [replaced, *self._crosses(now)]


def shared_fundamental(
    flow: FlowConfig, instrument: Instrument, session: SessionConfig, seed: int
) -> Callable[[int], float]:
    """The lit venues' fundamental value as a function of time: drawn by the very code
    that draws theirs (a flow on a book nobody trades), so the two cannot drift apart.
    ``flow`` must carry the lit venues' fundamental settings (the defaults do)."""
    ghost = BackgroundFlow(Book(), flow, instrument, session, random.Random(seed), (), seed)
    return ghost.fundamental
