"""An order-level (L3) limit order book with price-time priority.

Pure and venue-agnostic: order ids are any hashable (the simulator uses ``int`` for
background orders and ``str`` for ours), sides are +1 buy / -1 sell, prices and quantities
are ``int``. Validation of ticks and lots is the venue's job; the book only matches.

Layout, chosen for speed (profiled): per side a dict price → ``Level`` and a plain list
of its prices kept sorted with the best last (a simulated book holds a handful of levels:
``bisect`` on a short list beats a balanced tree), a ``deque`` of orders per level, and
a dict order id → ``Order``. A cancel does not search
the deque: it zeroes the order's leaves and the dead entry is skipped and dropped when
matching reaches it (lazy deletion); a level whose live quantity reaches zero is removed
at once, so every level in the book has live quantity and the book never rests crossed.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from collections.abc import Iterator
from typing import NamedTuple

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
        "_ask_keys",
        "_bid_keys",
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
        self.bids: dict[int, Level] = {}  # price → Level
        self.asks: dict[int, Level] = {}
        # each side's prices as sort keys, ascending with the best last: bid prices as
        # they are, ask prices negated
        self._bid_keys: list[int] = []
        self._ask_keys: list[int] = []
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
        if levels <= 0:
            return []
        if side == BUY:
            bids = self.bids
            return [(p, bids[p].quantity) for p in reversed(self._bid_keys[-levels:])]
        asks = self.asks
        return [(-k, asks[-k].quantity) for k in reversed(self._ask_keys[-levels:])]

    def prices(self, side: int) -> list[int]:
        """Every price with resting orders on one side, best first."""
        if side == BUY:
            return self._bid_keys[::-1]
        return [-k for k in reversed(self._ask_keys)]

    def crosses(self, side: int, price: int | None) -> bool:
        """Would an order on ``side`` at ``price`` (None: market) trade on arrival?"""
        if side == BUY:
            return self.best_ask is not None and (price is None or price >= self.best_ask)
        return self.best_bid is not None and (price is None or price <= self.best_bid)

    def fillable(self, side: int, price: int | None, quantity: int) -> bool:
        """Is there at least ``quantity`` on the opposite side at ``price`` or better?"""
        book = self.asks if side == BUY else self.bids
        available = 0
        for p in self.prices(-side):
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
            level = self.bids.get(price)
            if level is None:
                level = self._new_level(side, price)
        else:
            best = self.best_bid
            if best is not None and price <= best:
                return self._match_then_rest(order_id, side, price, quantity)
            level = self.asks.get(price)
            if level is None:
                level = self._new_level(side, price)
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

    def _new_level(self, side: int, price: int) -> Level:
        level = Level(price)
        if side == BUY:
            self.bids[price] = level
            keys = self._bid_keys
            if not keys or price > keys[-1]:
                keys.append(price)
                self.best_bid = price
            else:
                insort(keys, price)
        else:
            self.asks[price] = level
            keys = self._ask_keys
            if not keys or -price > keys[-1]:
                keys.append(-price)
                self.best_ask = price
            else:
                insort(keys, -price)
        return level

    def _rest(self, order: Order) -> None:
        price, side = order.price, order.side
        level = (self.bids if side == BUY else self.asks).get(price)
        if level is None:
            level = self._new_level(side, price)
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

    def _drop_level(self, book: dict[int, Level], side: int, price: int) -> None:
        del book[price]
        if side == BUY:
            keys, key = self._bid_keys, price
        else:
            keys, key = self._ask_keys, -price
        if keys[-1] == key:  # the best: the new best is the next one
            keys.pop()
            best = (keys[-1] if side == BUY else -keys[-1]) if keys else None
            if side == BUY:
                self.best_bid = best
            else:
                self.best_ask = best
        else:
            del keys[bisect_left(keys, key)]

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
        assert self._bid_keys == sorted(self.bids)
        assert self._ask_keys == sorted(-p for p in self.asks)
        assert self.best_bid == (max(self.bids) if self.bids else None)
        assert self.best_ask == (min(self.asks) if self.asks else None)
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
