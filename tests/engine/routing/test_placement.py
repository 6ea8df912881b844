"""Placement helpers: proportional splits in whole lots, and the dark split's minimum slice."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.routing.sizing import split, split_min


def test_split_min_leaves_out_the_pool_whose_slice_is_below_the_minimum():
    # 500 by fill probability 0.83 / 0.33 splits 400 / 100, below a 200 minimum: the
    # lighter pool is left out, the total unchanged.
    weights = [("DARK1", 0.83), ("DARK2", 0.33)]
    assert split(500, weights, 100) == [("DARK1", 400), ("DARK2", 100)]
    assert split_min(500, weights, 100, 200) == [("DARK1", 500)]


def test_split_min_keeps_every_pool_whose_slice_is_large_enough():
    weights = [("A", 0.5), ("B", 0.4), ("C", 0.1)]
    assert split_min(1_000, weights, 100, 200) == [("A", 600), ("B", 400)]
    assert split_min(1_000, weights, 100, 100) == split(1_000, weights, 100)


def test_split_min_below_the_minimum_goes_whole_to_the_heaviest_pool():
    assert split_min(100, [("A", 0.3), ("B", 0.9)], 100, 200) == [("B", 100)]


def test_split_min_on_a_tie_leaves_out_the_later_pool():
    assert split_min(300, [("A", 1.0), ("B", 1.0)], 100, 200) == [("A", 300)]


@settings(max_examples=400, deadline=None)
@given(
    lot=st.sampled_from([1, 10, 100]),
    lots=st.integers(0, 200),
    odd=st.integers(0, 99),
    minimum=st.integers(0, 3_000),
    weights=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=5),
)
def test_split_min_whole_lots_same_total_no_slice_below_the_minimum_unless_all(
    lot, lots, odd, minimum, weights
):
    total = lots * lot + odd % lot
    named = [(f"V{i}", w) for i, w in enumerate(weights)]
    out = split_min(total, named, lot, minimum)
    assert sum(q for _, q in out) == sum(q for _, q in split(total, named, lot)) == lots * lot
    assert all(q > 0 and q % lot == 0 for _, q in out)
    assert len(out) == 1 or all(q >= minimum for _, q in out)
    names = [v for v, _ in out]
    assert len(set(names)) == len(names)
    assert names == [v for v, _ in named if v in names]  # the given (rank) order
