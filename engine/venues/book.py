"""An order-level (L3) limit order book with price-time priority.

Pure and venue-agnostic: order ids are any hashable (the simulator uses ``int`` for
background orders and ``str`` for ours), sides are +1 buy / -1 sell, prices and quantities
are ``int``. Validation of ticks and lots is the venue's job; the book only matches.

Layout, chosen for speed (profiled): one ``SortedDict`` price → ``Level`` per side, a
``deque`` of orders per level, and a dict order id → ``Order``. A cancel does not search
the deque: it zeroes the order's leaves and the dead entry is skipped and dropped when
matching reaches it (lazy deletion); a level whose live quantity reaches zero is removed
at once, so every level in the book has live quantity and the book never rests crossed.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import NamedTuple

from sortedcontainers import SortedDict

BUY = 1
SELL = -1

OrderId = int | str
"""An order's id in a book: background orders are numbered, ours are named."""


class Fill(NamedTuple):
    """One match: the resting (maker) order traded ``quantity`` at its price with the
    incoming (taker) order. ``maker_leaves`` is what the maker still has resting."""

    maker_id: OrderId
    taker_id: OrderId
    price: int
    quantity: int
    maker_leaves: int


class Order:
    __slots__ = ("leaves", "order_id", "price", "side")

    def __init__(self, order_id: OrderId, side: int, price: int, leaves: int) -> None:
        self.order_id = order_id
        self.side = side
        self.price = price
        self.leaves = leaves

    def __repr__(self) -> str:
        return f"Order({self.order_id!r}, {self.side:+d}, {self.price}, {self.leaves})"


class Level:
    """The orders resting at one price, oldest first; ``quantity`` counts live leaves."""

    __slots__ = ("count", "orders", "price", "quantity")

    def __init__(self, price: int) -> None:
        self.price = price
        self.orders: deque[Order] = deque()
        self.quantity = 0
        self.count = 0  # live orders

    def live(self) -> Iterator[Order]:
        return (o for o in self.orders if o.leaves)


class Book:
    __slots__ = (
        "asks",
        "best_ask",
        "best_bid",
        "bids",
        "last_price",
        "notional",
        "orders",
        "volume",
    )

    def __init__(self) -> None:
        self.bids: SortedDict = SortedDict()  # price → Level; best = last
        self.asks: SortedDict = SortedDict()  # price → Level; best = first
        self.orders: dict[OrderId, Order] = {}  # resting orders only
        self.best_bid: int | None = None
        self.best_ask: int | None = None
        self.volume = 0  # cumulative matched shares
        self.notional = 0  # cumulative Σ qty·price
        self.last_price: int | None = None

    # ------------------------------------------------------------------ queries

    def __contains__(self, order_id: OrderId) -> bool:
        return order_id in self.orders

    def get(self, order_id: OrderId) -> Order | None:
        return self.orders.get(order_id)

    def mid(self) -> int | None:
        if self.best_bid is None or self.best_ask is None:
            return None
        return (self.best_bid + self.best_ask) // 2

    def depth(self, side: int, levels: int) -> list[tuple[int, int]]:
        """Top ``levels`` (price, quantity) of one side, best first."""
        book = self.bids if side == BUY else self.asks
        n = min(levels, len(book))
        idx = range(-1, -n - 1, -1) if side == BUY else range(n)
        values = book.values()
        return [(values[i].price, values[i].quantity) for i in idx]

    def crosses(self, side: int, price: int | None) -> bool:
        """Would an order on ``side`` at ``price`` (None: market) trade on arrival?"""
        if side == BUY:
            return self.best_ask is not None and (price is None or price >= self.best_ask)
        return self.best_bid is not None and (price is None or price <= self.best_bid)

    def fillable(self, side: int, price: int | None, quantity: int) -> bool:
        """Is there at least ``quantity`` on the opposite side at ``price`` or better?"""
        book = self.asks if side == BUY else self.bids
        prices = book.keys() if side == BUY else reversed(book.keys())
        available = 0
        for p in prices:
            if price is not None and (p > price if side == BUY else p < price):
                break
            available += book[p].quantity
            if available >= quantity:
                return True
        return False

    # ----------------------------------------------------------------- commands

    def limit(self, order_id: OrderId, side: int, price: int, quantity: int) -> list[Fill]:
        """A day limit order: match what crosses, rest the remainder."""
        # The non-crossing add is the hot path: checks and resting are inlined.
        if side == BUY:
            best = self.best_ask
            if best is not None and price >= best:
                return self._match_then_rest(order_id, side, price, quantity)
            book = self.bids
            level = book.get(price)
            if level is None:
                level = book[price] = Level(price)
                if self.best_bid is None or price > self.best_bid:
                    self.best_bid = price
        else:
            best = self.best_bid
            if best is not None and price <= best:
                return self._match_then_rest(order_id, side, price, quantity)
            book = self.asks
            level = book.get(price)
            if level is None:
                level = book[price] = Level(price)
                if self.best_ask is None or price < self.best_ask:
                    self.best_ask = price
        order = Order(order_id, side, price, quantity)
        level.orders.append(order)
        level.quantity += quantity
        level.count += 1
        self.orders[order_id] = order
        return []

    def take(
        self, order_id: OrderId, side: int, quantity: int, price: int | None = None
    ) -> list[Fill]:
        """Immediate-or-cancel (``price`` None: a market order): match, never rest."""
        if not self.crosses(side, price):
            return []
        return self._match(order_id, side, price, quantity)

    def cancel(self, order_id: OrderId) -> int:
        """Take a resting order off the book; returns the leaves it had (0 if not resting)."""
        order = self.orders.pop(order_id, None)
        if order is None:
            return 0
        book = self.bids if order.side == BUY else self.asks
        level = book[order.price]
        leaves = order.leaves
        level.quantity -= leaves
        level.count -= 1
        if not level.count:
            self._drop_level(book, order.side, order.price)
        order.leaves = 0  # the dead entry stays in the deque until matching drops it
        return leaves

    def replace(self, order_id: OrderId, leaves: int, price: int | None = None) -> list[Fill]:
        """Change a resting order's leaves and/or price. A size decrease at the same price
        keeps time priority; a price change or a size increase goes to the back of the
        queue (and may trade if the new price crosses). Raises KeyError if not resting."""
        order = self.orders[order_id]
        if leaves <= 0:
            raise ValueError("replace to zero leaves: cancel instead")
        new_price = order.price if price is None else price
        if new_price == order.price and leaves <= order.leaves:
            book = self.bids if order.side == BUY else self.asks
            book[order.price].quantity -= order.leaves - leaves
            order.leaves = leaves
            return []
        self.cancel(order_id)
        return self.limit(order_id, order.side, new_price, leaves)

    # ----------------------------------------------------------------- internals

    def _rest(self, order: Order) -> None:
        price = order.price
        if order.side == BUY:
            book = self.bids
            level = book.get(price)
            if level is None:
                level = book[price] = Level(price)
                if self.best_bid is None or price > self.best_bid:
                    self.best_bid = price
        else:
            book = self.asks
            level = book.get(price)
            if level is None:
                level = book[price] = Level(price)
                if self.best_ask is None or price < self.best_ask:
                    self.best_ask = price
        level.orders.append(order)
        level.quantity += order.leaves
        level.count += 1
        self.orders[order.order_id] = order

    def _match_then_rest(
        self, order_id: OrderId, side: int, price: int, quantity: int
    ) -> list[Fill]:
        fills = self._match(order_id, side, price, quantity)
        leaves = quantity - sum(f.quantity for f in fills)
        if leaves:
            self._rest(Order(order_id, side, price, leaves))
        return fills

    def _drop_level(self, book: SortedDict, side: int, price: int) -> None:
        del book[price]
        if side == BUY:
            if price == self.best_bid:
                self.best_bid = book.keys()[-1] if book else None
        elif price == self.best_ask:
            self.best_ask = book.keys()[0] if book else None

    def _match(self, taker_id: OrderId, side: int, limit: int | None, quantity: int) -> list[Fill]:
        """Walk the opposite side best-first while it crosses ``limit``."""
        fills: list[Fill] = []
        opposite = self.asks if side == BUY else self.bids
        orders = self.orders
        remaining = quantity
        traded = notional = 0
        while remaining:
            best = self.best_ask if side == BUY else self.best_bid
            if best is None or (
                limit is not None and (best > limit if side == BUY else best < limit)
            ):
                break
            level = opposite[best]
            queue = level.orders
            while remaining and queue:
                maker = queue[0]
                if not maker.leaves:  # cancelled earlier: drop lazily
                    queue.popleft()
                    continue
                qty = maker.leaves if maker.leaves < remaining else remaining
                maker.leaves -= qty
                level.quantity -= qty
                remaining -= qty
                traded += qty
                notional += qty * best
                fills.append(Fill(maker.order_id, taker_id, best, qty, maker.leaves))
                if not maker.leaves:
                    queue.popleft()
                    level.count -= 1
                    del orders[maker.order_id]
            if not level.count:
                self._drop_level(opposite, -side, best)
        if traded:
            self.volume += traded
            self.notional += notional
            self.last_price = fills[-1].price
        return fills

    # ------------------------------------------------------------------ checking

    def check(self) -> None:
        """Assert the book's invariants (tests and debugging; O(n))."""
        assert self.best_bid == (self.bids.keys()[-1] if self.bids else None)
        assert self.best_ask == (self.asks.keys()[0] if self.asks else None)
        if self.best_bid is not None and self.best_ask is not None:
            assert self.best_bid < self.best_ask, "book rests crossed"
        seen = 0
        for side, book in ((BUY, self.bids), (SELL, self.asks)):
            for price, level in book.items():
                live = list(level.live())
                assert live, f"empty level {price}"
                assert level.quantity == sum(o.leaves for o in live)
                assert level.count == len(live)
                for o in live:
                    assert o.side == side and o.price == price
                    assert self.orders[o.order_id] is o
                seen += len(live)
        assert seen == len(self.orders)
