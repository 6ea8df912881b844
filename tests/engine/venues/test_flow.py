"""Background flow: deterministic, seed-sensitive, U-shaped, always two-sided."""

from __future__ import annotations

import random

import pytest

from engine.clock import HOUR, MINUTE
from engine.config import FlowConfig, SessionConfig
from engine.instruments import Instrument
from engine.venues.book import Book
from engine.venues.flow import BackgroundFlow, intensity_profile

SESSION = SessionConfig()
XYZ = Instrument(symbol="XYZ", ref_price=100_000_000)
STEP = 5 * MINUTE


def run_day(seed: int, rate_scale: float = 0.3) -> tuple[BackgroundFlow, list[tuple]]:
    """Advance one day in 5-minute steps; trace = (mid, spread, volume) per step."""
    book = Book()
    flow = BackgroundFlow(
        book, FlowConfig(rate_scale=rate_scale), XYZ, SESSION, random.Random(seed), set()
    )
    trace = []
    for t in range(SESSION.open_ns + STEP, SESSION.close_ns + 1, STEP):
        flow.advance_to(t)
        assert book.best_bid is not None and book.best_ask is not None, "book went one-sided"
        assert book.best_bid < book.best_ask
        trace.append((book.mid(), book.best_ask - book.best_bid, book.volume))
    return flow, trace


@pytest.fixture(scope="module")
def day():
    return run_day(11)


def test_same_seed_same_day(day):
    assert run_day(11)[1] == day[1]


def test_different_seed_differs(day):
    assert run_day(12)[1] != day[1]


def test_how_time_is_sliced_does_not_change_events():
    book_a, book_b = Book(), Book()
    a = BackgroundFlow(book_a, FlowConfig(), XYZ, SESSION, random.Random(3), set())
    b = BackgroundFlow(book_b, FlowConfig(), XYZ, SESSION, random.Random(3), set())
    end = SESSION.open_ns + 10 * MINUTE
    a.advance_to(end)
    for t in range(SESSION.open_ns, end + 1, 7_000_000_000):
        b.advance_to(t)
    b.advance_to(end)
    assert (
        a.events == b.events
        and book_a.depth(1, 5) == book_b.depth(1, 5)
        and book_a.volume == book_b.volume
    )


def test_volume_is_u_shaped(day):
    _, trace = day
    volumes = [v for _, _, v in trace]
    per_step = [b - a for a, b in zip([0, *volumes], volumes, strict=False)]
    hour = 60 // 5
    first, middle, last = (
        sum(per_step[:hour]),
        sum(per_step[2 * hour : 4 * hour]) / 2,
        sum(per_step[-hour:]),
    )
    assert first > 1.3 * middle and last > 1.3 * middle


def test_spread_tightens_through_the_day(day):
    _, trace = day
    spreads = [s for _, s, _ in trace]
    n = len(spreads) // 6
    assert sum(spreads[:n]) > sum(spreads[-n:])


def test_mid_wanders_but_stays_plausible(day):
    _, trace = day
    mids = [m for m, _, _ in trace]
    assert len(set(mids)) > 10  # it moves
    assert all(abs(m - XYZ.ref_price) < XYZ.ref_price // 10 for m in mids)  # within 10 %


def test_profile_has_mean_one_and_a_u():
    p = intensity_profile(True)
    assert abs(sum(p) / len(p) - 1) < 1e-9
    assert p[0] > p[6] < p[-1]
    assert set(intensity_profile(False)) == {1.0}


@pytest.mark.parametrize("halt_from", [0, 30 * MINUTE], ids=["halted_all_day", "halted_late"])
def test_a_halt_through_the_close_lets_time_pass_beyond_it(halt_from, monkeypatch):
    """A halted venue lets time pass (``skip_to``) after the close too: value traders
    have no wake left there, so the halt must end at the close, not wait for one. The
    wakes are counted, so a regression fails here rather than spinning."""
    session = SessionConfig(open_ns=SESSION.open_ns, close_ns=SESSION.open_ns + HOUR)
    flow = BackgroundFlow(Book(), FlowConfig(), XYZ, session, random.Random(4), set())
    flow.advance_to(session.open_ns + halt_from)
    wakes = len(flow._fundamental) + 1  # one per value-trader wake, and "never"
    value_time = flow._value_time

    def counted(k: int) -> int:
        nonlocal wakes
        wakes -= 1
        assert wakes >= 0, "value traders woke again and again after the close"
        return value_time(k)

    monkeypatch.setattr(flow, "_value_time", counted)
    for t in (session.close_ns - MINUTE, session.close_ns + 2, session.close_ns + HOUR):
        flow.skip_to(t)
    assert flow.now == session.close_ns + HOUR
    assert flow.advance_to(session.close_ns + 2 * HOUR) == []  # nothing trades after it


def test_venues_of_one_market_share_the_day_s_volume_multipliers():
    """A busy day is busy on every venue: the day's multipliers come with the fundamental."""

    def flow(seed: int, fundamental_seed: int) -> BackgroundFlow:
        return BackgroundFlow(
            Book(), FlowConfig(), XYZ, SESSION, random.Random(seed), set(), fundamental_seed
        )

    buckets = [SESSION.open_ns + k * 30 * MINUTE for k in range(13)]
    a, b, other_day = flow(1, 7), flow(2, 7), flow(1, 8)
    assert [a.intensity(t) for t in buckets] == [b.intensity(t) for t in buckets]
    assert [a.intensity(t) for t in buckets] != [other_day.intensity(t) for t in buckets]
    average = intensity_profile(True)
    assert [a.intensity(t) for t in buckets] != list(average)
