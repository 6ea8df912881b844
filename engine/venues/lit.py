"""A simulated lit exchange: an L3 book shared by background flow and our orders.

Other lit venues' quotes arrive as market data; arbitrageurs trade away anything priced
through them, which keeps the venues of one market in line with each other. The market
data also carries each venue's directional volume (ours: what the background flow does
not model) and expected daily volume: the impact of a meta-order traded on one venue
moves the value on every venue of the market.
"""

from __future__ import annotations

from engine.config import SessionConfig, VenueConfig
from engine.instruments import Instrument
from engine.market_view import MarketView
from engine.messages import (
    BookLevel,
    Liquidity,
    MarketDataUpdated,
    Message,
    PlaceVenueOrder,
    ReplaceVenueOrder,
    TimeInForce,
    VenueKind,
    VenueOrderReplaced,
    VenueStatus,
)
from engine.venues.book import BUY, Book, Fill
from engine.venues.flow import BackgroundFlow
from engine.venues.simulated import OurOrder, SimulatedVenue

DEPTH_LEVELS = 5
_LIT, _DOWN = VenueKind.LIT, VenueStatus.DOWN


class LitVenue(SimulatedVenue):
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
        # per other lit venue: (directional, expected, traded) volumes last heard of
        self._heard: dict[str, tuple[int, int, int]] = {}

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
            directional_volume=self.flow.directional,
            expected_volume=round(self.flow.expected_volume),
            ts=now_ns,
        )

    def _market_data(self, msg: MarketDataUpdated, now: int) -> list[Message]:
        """Another venue's directional volume moves the value here (any venue that
        reports it); another lit venue's quotes: arbitrageurs trade away anything priced
        through them."""
        if msg.venue == self.name:
            return []
        self._hear_impact(msg, now)
        if msg.kind is not _LIT:
            return []
        self.elsewhere.update(msg)
        if self.status is _DOWN:
            return []
        bid, ask = self._best_elsewhere()
        fills = self.flow.arbitrage(now, bid, ask)
        if not fills:  # the usual case: nothing of ours traded
            return []
        return [
            self._fill(self.live[f.maker_id], f.quantity, f.price, Liquidity.MAKER, ts)
            for ts, f in fills
        ]

    def _best_elsewhere(self) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
        """The highest bid and lowest offer (price, size) of the other lit venues that are
        not down; the larger size on a tie."""
        bid = ask = None
        for md in self.elsewhere.venues.values():
            if md.status is _DOWN:
                continue
            if md.bids:
                top = md.bids[0]
                if bid is None or (top.price, top.quantity) > bid:
                    bid = (top.price, top.quantity)
            if md.asks:
                top = md.asks[0]
                if ask is None or (top.price, -top.quantity) < ask:
                    ask = (top.price, -top.quantity)
        return bid, (ask[0], -ask[1]) if ask else None

    def _hear_impact(self, msg: MarketDataUpdated, now: int) -> None:
        """Another venue's directional flow moves the value here too, from when we hear
        it. A venue restarted (its day's volume went back) counts again from zero."""
        directional, expected, volume = self._heard.get(msg.venue, (0, 0, 0))
        if msg.volume < volume:
            directional = 0
        self._heard[msg.venue] = (msg.directional_volume, msg.expected_volume, msg.volume)
        if msg.expected_volume != expected:
            market = self.flow.expected_volume + sum(e for _, e, _ in self._heard.values())
            self.flow.impact.rescale(self.config.flow, market)
        if msg.directional_volume != directional:
            self.flow.impact.trade(now, msg.directional_volume - directional)

    def _advance(self, now: int, out: list[Message]) -> None:
        if self.status is _DOWN:
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
        if order.price is None or msg.tif is not TimeInForce.DAY:  # a market order has no price
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
            taker = self.live[f.taker_id]
            if maker is not None:
                out.append(self._fill(maker, f.quantity, f.price, Liquidity.MAKER, now))
            else:  # with ourselves, no net directional volume
                self.flow.trade_directional(now, taker.side * f.quantity)
            out.append(self._fill(taker, f.quantity, f.price, Liquidity.TAKER, now))
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
