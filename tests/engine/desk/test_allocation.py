import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.desk.allocation import allocate


def test_floor_then_largest_remainder():
    # 10 over three equal orders: 3 each, 1 left; remainders and sizes tie -> earliest.
    assert allocate(10, [100, 100, 100]) == [4, 3, 3]


def test_tie_goes_to_larger_order_then_earlier():
    # 1 share over 100 and 200 out of 300: remainders 100 and 200 -> larger remainder wins.
    assert allocate(1, [100, 200]) == [0, 1]
    # equal remainders, different sizes: 3 shares over 50, 100, 50 (sum 200)
    # exact: 0.75, 1.5, 0.75 -> floors 0,1,0; left 2; remainders 150,100,150 -> idx 0 and 2
    assert allocate(3, [50, 100, 50]) == [1, 1, 1]
    # equal remainder and size tie -> earlier order first
    assert allocate(1, [100, 100]) == [1, 0]
    # 2 over 1 and 3 (sum 4): exact 0.5 and 1.5, remainders tie -> larger order wins
    assert allocate(2, [1, 3]) == [0, 2]


def test_whole_lots():
    assert allocate(300, [100, 100, 100, 100], lot=100) == [100, 100, 100, 0]
    assert allocate(500, [300, 200], lot=100) == [300, 200]
    assert sum(allocate(700, [100, 300, 500], lot=100)) == 700


def test_zero_fill_and_empty_open():
    assert allocate(0, [100, 200]) == [0, 0]
    assert allocate(0, []) == []


def test_rejects_bad_input():
    with pytest.raises(ValueError):
        allocate(50, [100], lot=100)
    with pytest.raises(ValueError):
        allocate(100, [150], lot=100)
    with pytest.raises(ValueError):
        allocate(301, [100, 200])
    with pytest.raises(ValueError):
        allocate(-1, [100])


@settings(max_examples=300)
@given(
    lot=st.sampled_from([1, 10, 100]),
    lots=st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=20),
    data=st.data(),
)
def test_sum_is_fill_never_above_open_and_fair(lot, lots, data):
    open_qtys = [n * lot for n in lots]
    fill = data.draw(st.integers(min_value=0, max_value=sum(lots))) * lot
    alloc = allocate(fill, open_qtys, lot)
    assert sum(alloc) == fill
    total = sum(open_qtys)
    for a, q in zip(alloc, open_qtys, strict=True):
        assert 0 <= a <= q
        assert a % lot == 0
        if total:
            # within one lot of the exact pro-rata share, and never below its floor
            exact_num = fill * q
            assert a * total >= (exact_num // (total * lot)) * lot * total
            assert a * total < exact_num + lot * total


def _reference(fill: int, open_qtys: list[int], lot: int) -> list[int]:
    """The rule spelled out: floors, then one lot each by (largest remainder, larger
    order, earlier order)."""
    units = [q // lot for q in open_qtys]
    total = sum(units)
    if not fill:
        return [0] * len(units)
    shares = [fill // lot * u // total for u in units]
    rems = [fill // lot * u % total for u in units]
    order = sorted(range(len(units)), key=lambda i: (-rems[i], -units[i], i))
    for i in order[: fill // lot - sum(shares)]:
        shares[i] += 1
    return [s * lot for s in shares]


@settings(max_examples=300)
@given(
    lot=st.sampled_from([1, 7, 100]),
    lots=st.lists(st.integers(min_value=0, max_value=30), min_size=1, max_size=12),
    data=st.data(),
)
def test_matches_the_rule_spelled_out(lot, lots, data):
    open_qtys = [n * lot for n in lots]
    fill = data.draw(st.integers(min_value=0, max_value=sum(lots))) * lot
    assert allocate(fill, open_qtys, lot) == _reference(fill, open_qtys, lot)


@settings(max_examples=300)
@given(
    lot=st.sampled_from([1, 100]),
    sizes=st.lists(st.integers(min_value=0, max_value=12), min_size=1, max_size=6),
    picks=st.lists(st.integers(min_value=0, max_value=5), min_size=17, max_size=300),
    data=st.data(),
)
def test_many_orders_of_few_sizes_match_the_rule_spelled_out(lot, sizes, picks, data):
    # a desk's working members: many orders, a few sizes (computed once per size)
    open_qtys = [sizes[i % len(sizes)] * lot for i in picks]
    fill = data.draw(st.integers(min_value=0, max_value=sum(open_qtys) // lot)) * lot
    assert allocate(fill, open_qtys, lot) == _reference(fill, open_qtys, lot)


def test_rejects_negative_or_odd_lot_open_quantity():
    with pytest.raises(ValueError, match="open quantity -100"):
        allocate(100, [200, -100], lot=100)
    with pytest.raises(ValueError, match="open quantity 150"):
        allocate(0, [300, 150, 50], lot=100)
    with pytest.raises(ValueError):
        allocate(0, [5], lot=0)
