"""How fast the gateway acknowledges: NewOrderSingle → ExecutionReport (150=0) over
loopback, one session, a live engine on simulated venues, fsynced session store.

``measure()`` returns ``fix_orders_per_s`` (a pipelined burst, at most ``window`` orders
outstanding) and ``fix_ack_p99_ms`` (one order at a time, so the figure is the round trip
and not the queue in front of it).
"""

from __future__ import annotations

import socket
import tempfile
import time

from actors.api import Engine, MarketConfig
from actors.fix.acceptor import FixAcceptor
from actors.runtime.live import LiveRuntime, session_from_now
from engine.config import VenueConfig
from engine.fix.codec import Field, FixMessage, Framer, encode
from engine.fix.config import GatewaySettings, SessionSettings
from engine.fix.times import utc_timestamp
from engine.instruments import Instrument

_SESSION = SessionSettings(sender_comp_id="BENCH", password="bench", max_messages_per_s=10**9)


class _Client:
    """A minimal FIX client for measuring (the conformance tests use QuickFIX)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.framer = Framer()
        self.seq = 1
        self.pending: list[FixMessage] = []

    def message(self, msg_type: str, *body: tuple[int, str | int]) -> bytes:
        now = utc_timestamp(time.time_ns())
        head: list[Field] = [
            (35, msg_type),
            (49, "BENCH"),
            (56, "SMARTEXEC"),
            (34, self.seq),
            (52, now),
        ]
        self.seq += 1
        return encode([*head, *body])

    def order(self, cl: str) -> bytes:
        now = utc_timestamp(time.time_ns())
        body: list[Field] = [
            (11, cl),
            (55, "XYZ"),
            (54, 1),
            (60, now),
            (38, 100),
            (40, 2),
            (44, "90.00"),
        ]
        return self.message("D", *body)

    def count_acks(self, wanted: int) -> None:
        """Read until ``wanted`` more ExecutionReports have arrived (counted on the raw
        bytes: the client's own parsing is not what is measured)."""
        tail = b""
        while wanted > 0:
            data = self.sock.recv(1 << 16)
            if not data:
                raise ConnectionError("the gateway closed the connection")
            chunk = tail + data
            wanted -= chunk.count(b"\x0135=8\x01")
            tail = chunk[-6:]  # a marker cut in two is counted with the next read
            wanted += tail.count(b"\x0135=8\x01")

    def receive(self, msg_type: str) -> FixMessage:
        while True:
            while self.pending:
                msg = self.pending.pop(0)
                if msg.msg_type == msg_type:
                    return msg
            data = self.sock.recv(1 << 16)
            if not data:
                raise ConnectionError("the gateway closed the connection")
            self.pending += [m for m in self.framer.feed(data) if isinstance(m, FixMessage)]


def measure(
    orders: int = 2_000,
    window: int = 200,
    latency_orders: int = 500,
    cpu: int | None = None,
    fsync: bool = True,
) -> dict[str, float]:
    market = MarketConfig(
        instrument=Instrument(symbol="XYZ", ref_price=100_000_000),
        venues=[VenueConfig(name="LIT")],
        session=session_from_now(1.0),
    )
    with tempfile.TemporaryDirectory() as store, Engine(market, live=True, cpu=cpu) as engine:
        settings = GatewaySettings(sessions=[_SESSION], fsync=fsync)
        acceptor = FixAcceptor(engine, settings, store_dir=store)
        client = _Client(acceptor.address[1])
        if isinstance(engine.runtime, LiveRuntime):
            engine.runtime.pin_thread()
        try:
            client.sock.sendall(client.message("A", (98, 0), (108, 30), (554, "bench")))
            client.receive("A")
            rate = _throughput(client, orders, window)
            p99 = _latency_p99_ms(client, latency_orders)
        finally:
            client.sock.close()
            acceptor.close()
    return {"fix_orders_per_s": rate, "fix_ack_p99_ms": p99}


def _throughput(client: _Client, orders: int, window: int) -> float:
    """Bursts of ``window`` orders, each sent once the one before is acknowledged. The
    orders are encoded beforehand: the client shares the process (and its interpreter
    lock) with the gateway, and its own encoding is not what is measured."""
    encoded = [client.order(f"t{i}") for i in range(orders)]
    bursts = [b"".join(encoded[i : i + window]) for i in range(0, orders, window)]
    start = time.perf_counter()
    for i, burst in enumerate(bursts):
        client.sock.sendall(burst)
        client.count_acks(min(window, orders - i * window))
    return orders / (time.perf_counter() - start)


def _latency_p99_ms(client: _Client, orders: int) -> float:
    samples = []
    for i in range(orders):
        data = client.order(f"l{i}")  # now: its SendingTime must be current
        start = time.perf_counter()
        client.sock.sendall(data)
        client.count_acks(1)
        samples.append(time.perf_counter() - start)
    samples.sort()
    return samples[min(int(len(samples) * 0.99), len(samples) - 1)] * 1e3


def run(quick: bool = False) -> dict[str, float]:
    """The ``smart-exec bench`` entry point (``BENCHMARKS["fix"] = "actors.fix.loopback"``):
    the default, fsynced store, and one written to the OS only (``fsync = false``)."""
    orders, window, latency_orders = (200, 50, 50) if quick else (2_000, 200, 500)
    figures = measure(orders, window, latency_orders)
    unsynced = measure(orders, window, latency_orders, fsync=False)
    figures.update({f"{name}_no_fsync": value for name, value in unsynced.items()})
    return figures


if __name__ == "__main__":
    print(measure())
