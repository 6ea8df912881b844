"""Intake benchmark: small orders through validation, aggregation and netting.

- ``ingest_orders_per_s``: client orders per second through ``OrderDesk.submit`` and
  ``close_window`` (one window every ``WINDOW_ORDERS`` orders), 100 instruments, both sides,
  a lit mid set so opposing orders cross. Orders are built outside the timed region (that
  is the client's work); every reply message is built and dropped, as the actor would
  send it on. Timed in process CPU time, so other load on a shared machine does not
  count against it. The cyclic GC is left on: with ~10^6 live orders its full
  collections are a large part of the cost at scale (measured: 400k orders 108k/s with
  GC, 155k/s without), which a runtime can cut with ``gc.freeze()`` after bulk loads.
- ``bytes_per_resting_order``: traced memory growth per accepted resting order (one-sided
  flow so nothing crosses), the client's ``ClientOrder`` and its id string included.
"""

from __future__ import annotations

import gc
import random
import time
import tracemalloc

from engine.aggregation import DeskConfig, OrderDesk
from engine.instruments import Instrument
from engine.messages import ClientOrder, Mandate, Side

N_INSTRUMENTS = 100
WINDOW_ORDERS = 10_000
CHUNK = 10_000
START_NS = 1_795_786_200 * 1_000_000_000
REF = 50_000_000  # $50.00


def _instruments() -> list[Instrument]:
    return [Instrument(symbol=f"S{i:03d}", ref_price=REF, lot=100) for i in range(N_INSTRUMENTS)]


def _orders(rng: random.Random, start: int, count: int, one_sided: bool) -> list[ClientOrder]:
    mandate = Mandate()
    symbols = [f"S{i:03d}" for i in range(N_INSTRUMENTS)]
    sources = ["OMS", "trader:jane", "signal:mom1"]
    limits = [None, None, REF + 100_000, REF - 100_000]
    out = []
    for n in range(start, start + count):
        side = Side.BUY if one_sided or rng.random() < 0.5 else Side.SELL
        out.append(ClientOrder(
            source=sources[n % 3], account="ACC1", client_order_id=f"o{n}",
            instrument=symbols[rng.randrange(N_INSTRUMENTS)], side=side,
            quantity=100 * rng.randint(1, 10), limit_price=limits[rng.randrange(4)],
            mandate=mandate,
        ))
    return out


def ingest_orders_per_s(total: int, seed: int = 7) -> float:
    rng = random.Random(seed)
    desk = OrderDesk(_instruments(), DeskConfig(window_ns=1_000_000))
    for inst in desk.intake.instruments.values():
        desk.set_mid(inst.symbol, REF)
    elapsed = 0.0
    now = START_NS
    for start in range(0, total, CHUNK):
        batch = _orders(rng, start, min(CHUNK, total - start), one_sided=False)
        submit = desk.submit
        t0 = time.process_time()
        for i, order in enumerate(batch, start):
            submit(order, now + i)
            if (i + 1) % WINDOW_ORDERS == 0:
                desk.close_window(now + i)
        elapsed += time.process_time() - t0
    t0 = time.process_time()
    desk.close_window(now + total)
    elapsed += time.process_time() - t0
    return total / elapsed


def bytes_per_resting_order(count: int, seed: int = 11) -> float:
    rng = random.Random(seed)
    desk = OrderDesk(_instruments(), DeskConfig(window_ns=1_000_000))
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for start in range(0, count, CHUNK):
        for i, order in enumerate(_orders(rng, start, min(CHUNK, count - start), one_sided=True)):
            desk.submit(order, START_NS + start + i)
        desk.close_window(START_NS + start + CHUNK)
    gc.collect()
    used = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert sum(1 for o in desk.orders() if o.leaves) == count  # all accepted and resting
    return used / count


def run(quick: bool) -> dict:
    ingest = 50_000 if quick else 1_000_000
    resting = 20_000 if quick else 200_000
    return {
        "ingest_orders_per_s": round(ingest_orders_per_s(ingest)),
        "bytes_per_resting_order": round(bytes_per_resting_order(resting), 1),
    }


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run(quick="--quick" in sys.argv)))
