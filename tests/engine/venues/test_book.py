"""The L3 book: matching rules by example, invariants by hypothesis."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.venues.book import BUY, SELL, Book, Fill


def test_limit_rests_and_sets_the_touch():
    book = Book()
    assert book.limit("b1", BUY, 99, 100) == []
    assert book.limit("a1", SELL, 101, 50) == []
    assert (book.best_bid, book.best_ask, book.mid()) == (99, 101, 100)
    assert book.depth(BUY, 5) == [(99, 100)]
    assert book.depth(SELL, 5) == [(101, 50)]


def test_marketable_limit_trades_at_maker_prices_then_rests_remainder():
    book = Book()
    book.limit("a1", SELL, 101, 30)
    book.limit("a2", SELL, 102, 30)
    fills = book.limit("b", BUY, 102, 100)
    assert fills == [Fill("a1", "b", 101, 30, 0), Fill("a2", "b", 102, 30, 0)]
    assert book.best_bid == 102 and book.best_ask is None
    assert book.get("b").leaves == 40
    assert (book.volume, book.notional, book.last_price) == (60, 101 * 30 + 102 * 30, 102)


def test_price_time_priority_within_a_level():
    book = Book()
    for oid in ("first", "second", "third"):
        book.limit(oid, BUY, 99, 10)
    fills = book.take("s", SELL, 15)
    assert [(f.maker_id, f.quantity, f.maker_leaves) for f in fills] == [
        ("first", 10, 0),
        ("second", 5, 5),
    ]


def test_market_order_never_rests_and_ioc_respects_its_limit():
    book = Book()
    book.limit("a1", SELL, 101, 10)
    book.limit("a2", SELL, 103, 10)
    assert sum(f.quantity for f in book.take("ioc", BUY, 50, price=102)) == 10
    assert "ioc" not in book and book.best_ask == 103
    assert sum(f.quantity for f in book.take("mkt", BUY, 50)) == 10
    assert "mkt" not in book and book.best_ask is None
    assert book.take("mkt2", BUY, 5) == []


def test_fillable_checks_depth_within_limit():
    book = Book()
    book.limit("a1", SELL, 101, 10)
    book.limit("a2", SELL, 102, 10)
    assert book.fillable(BUY, 101, 10)
    assert not book.fillable(BUY, 101, 11)
    assert book.fillable(BUY, None, 20)
    assert not book.fillable(BUY, None, 21)
    assert not book.fillable(SELL, None, 1)


def test_cancel_returns_leaves_and_removes_empty_level():
    book = Book()
    book.limit("b1", BUY, 99, 10)
    book.limit("b2", BUY, 98, 10)
    assert book.cancel("b1") == 10
    assert book.cancel("b1") == 0
    assert book.cancel("nope") == 0
    assert book.best_bid == 98
    book.check()


def test_replace_size_down_keeps_priority():
    book = Book()
    book.limit("x", BUY, 99, 10)
    book.limit("y", BUY, 99, 10)
    book.replace("x", 4)
    assert book.take("s", SELL, 4)[0].maker_id == "x"
    book.check()


def test_replace_size_up_or_price_change_loses_priority():
    book = Book()
    book.limit("x", BUY, 99, 10)
    book.limit("y", BUY, 99, 10)
    book.replace("x", 11)
    assert book.take("s", SELL, 1)[0].maker_id == "y"
    book.limit("z", BUY, 99, 10)
    book.replace("y", 9, price=98)
    book.replace("y", 9, price=99)
    assert [f.maker_id for f in book.take("s2", SELL, 100)] == ["x", "z", "y"]


def test_replace_to_a_crossing_price_trades():
    book = Book()
    book.limit("a", SELL, 101, 5)
    book.limit("b", BUY, 99, 10)
    assert book.replace("b", 10, price=101) == [Fill("a", "b", 101, 5, 0)]
    assert book.get("b").leaves == 5 and book.best_bid == 101
    book.check()


# ------------------------------------------------------------------- properties

ops = st.lists(
    st.tuples(
        st.sampled_from(["limit", "take", "market", "cancel", "replace"]),
        st.sampled_from([BUY, SELL]),
        st.integers(90, 110),  # price
        st.integers(1, 50),  # quantity
        st.integers(0, 200),  # which earlier order (cancel/replace)
    ),
    max_size=120,
)


def apply(book: Book, script) -> tuple[int, list[Fill], dict]:
    """Run a script; returns the quantity submitted, the fills, and per-taker quantities."""
    submitted = 0
    fills: list[Fill] = []
    taken: dict = {}
    for n, (op, side, price, qty, which) in enumerate(script):
        ids = list(book.orders)
        if op == "limit":
            submitted += qty
            got = book.limit(n, side, price, qty)
        elif op == "take":
            got = book.take(n, side, qty, price)
        elif op == "market":
            got = book.take(n, side, qty)
        elif op == "cancel" and ids:
            book.cancel(ids[which % len(ids)])
            got = []
        elif op == "replace" and ids:
            target = ids[which % len(ids)]
            before = book.get(target).leaves
            submitted += qty - before
            got = book.replace(target, qty, price if which % 2 else None)
        else:
            got = []
        for f in got:
            taken[f.taker_id] = taken.get(f.taker_id, 0) + f.quantity
        fills += got
        book.check()  # never crossed, levels consistent
    return submitted, fills, taken


@settings(max_examples=150)
@given(ops)
def test_book_never_rests_crossed_and_stays_consistent(script):
    book = Book()
    apply(book, script)
    book.check()


@settings(max_examples=150)
@given(
    st.lists(
        st.tuples(st.sampled_from([BUY, SELL]), st.integers(95, 105), st.integers(1, 50)),
        max_size=80,
    )
)
def test_quantity_is_conserved_through_matching(script):
    """Every share of every limit order is resting or traded (exactly once on each side)."""
    book = Book()
    submitted = traded = 0
    for n, (side, price, qty) in enumerate(script):
        submitted += qty
        fills = book.limit(n, side, price, qty)
        assert all(f.quantity > 0 for f in fills)
        assert sum(f.quantity for f in fills) <= qty
        traded += sum(f.quantity for f in fills)
    resting = sum(o.leaves for o in book.orders.values())
    assert submitted == resting + 2 * traded
    assert book.volume == traded


@settings(max_examples=150)
@given(ops)
def test_fills_honour_price_time_priority(script):
    """A taker's fills walk prices best-first and, within a price, oldest order first;
    no fill is ever worse for the taker than its limit."""
    book = Book()
    arrival: dict = {}
    for n, (op, side, price, qty, _which) in enumerate(script):
        if op in ("cancel", "replace"):
            continue
        limit = None if op == "market" else price
        fills = book.limit(n, side, price, qty) if op == "limit" else book.take(n, side, qty, limit)
        keys = [(f.price * side, arrival[f.maker_id]) for f in fills]
        assert keys == sorted(keys)
        if limit is not None:
            assert all(f.price * side <= limit * side for f in fills)
        if n in book:
            arrival[n] = n


@settings(max_examples=100)
@given(ops)
def test_cancel_takes_exactly_the_leaves(script):
    book = Book()
    apply(book, script)
    for oid in list(book.orders):
        leaves = book.get(oid).leaves
        assert book.cancel(oid) == leaves
        assert oid not in book
    assert not book.bids and not book.asks
    assert (book.best_bid, book.best_ask) == (None, None)
