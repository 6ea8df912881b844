"""Benchmarks of the simulated venue core: the L3 book and a lit venue's day of flow.

The op stream is generated up front (seeded) so only book work is timed. The book's
figure is timed in process CPU time, as the intake's (``actors.benchmarks.intake`` says
why: other jobs share this 2-core machine); the wall-clock figure is reported beside it.
"""

from __future__ import annotations

import random
import time

from engine.config import SessionConfig, VenueConfig
from engine.instruments import Instrument
from engine.venues.book import BUY, SELL, Book

ADD, CANCEL, TAKE = 0, 1, 2


def _seed_book(book: Book, mid: int) -> None:
    for i in range(100):
        book.limit(-1 - i, BUY, mid - 1 - i % 10, 100)
        book.limit(-1001 - i, SELL, mid + 1 + i % 10, 100)


def book_ops(n: int, seed: int = 7) -> tuple[float, float]:
    """An add (50 %) / cancel (40 %) / marketable (10 %) mix around the touch:
    (ops per CPU second, ops per wall-clock second)."""
    rng = random.Random(seed)
    ops = []
    added: list[int] = []
    for oid in range(n):
        r = rng.random()
        if r < 0.5:
            ops.append((ADD, oid, BUY if r < 0.25 else SELL, 1 + int(rng.random() * 5), 100))
            added.append(oid)
        elif r < 0.9 and added:
            # cancel one of the recent adds (some will have traded already: a late cancel)
            target = added.pop(len(added) - 1 - int(rng.random() * min(len(added), 1_000)))
            ops.append((CANCEL, target, 0, 0, 0))
        else:
            ops.append((TAKE, oid, BUY if r < 0.95 else SELL, 0, 150))
    book = Book()
    mid = 10_000
    _seed_book(book, mid)
    limit, cancel, take = book.limit, book.cancel, book.take
    cpu, wall = time.process_time(), time.perf_counter()
    for kind, oid, side, ticks, qty in ops:
        if kind == ADD:
            ref = book.best_ask if side == BUY else book.best_bid
            limit(oid, side, (mid if ref is None else ref) - side * ticks, qty)
        elif kind == CANCEL:
            cancel(oid)
        else:
            take(oid, side, qty)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return n / cpu, n / wall


def book_ops_per_s(n: int, seed: int = 7) -> float:
    return book_ops(n, seed)[0]


def venue_day_wall_s(seed: int = 7) -> float:
    """Wall seconds for one lit venue to advance its background flow through a whole day."""
    from engine.venues.venue import LitVenue

    session = SessionConfig()
    venue = LitVenue(
        VenueConfig(name="LIT1"), Instrument(symbol="XYZ", ref_price=100_000_000), session, seed
    )
    start = time.perf_counter()
    step = 60 * 1_000_000_000
    for t in range(session.open_ns, session.close_ns + step, step):
        venue.advance_to(min(t, session.close_ns))
    return time.perf_counter() - start


def run(quick: bool = False) -> dict:
    per_cpu_s, per_wall_s = book_ops(50_000 if quick else 1_000_000)
    return {
        "book_ops_per_s": round(per_cpu_s),
        "book_ops_per_s_wall": round(per_wall_s),
        "venue_day_wall_s": round(venue_day_wall_s(), 3),
    }
