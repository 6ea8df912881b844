"""The acceptor's sockets with a raw client: what an engine like QuickFIX never sends
(garbled bytes, a deliberate gap), a second connection for a live session, and the
shutdown that cancels working orders."""

from __future__ import annotations

import socket
import time

import pytest

from actors.api import Engine, MarketConfig
from actors.fix import FixAcceptor
from actors.fix.loopback import _Client
from actors.runtime.live import session_from_now
from engine.config import VenueConfig
from engine.fix.config import GatewaySettings, SessionSettings
from engine.fix.times import utc_timestamp
from engine.instruments import Instrument

SETTINGS = GatewaySettings(sessions=[SessionSettings(sender_comp_id="BENCH", password="bench")])


@pytest.fixture
def acceptor():
    market = MarketConfig(
        instrument=Instrument(symbol="XYZ", ref_price=100_000_000),
        venues=[VenueConfig(name="LIT")],
        session=session_from_now(1.0),
    )
    with Engine(market, live=True) as engine:
        acceptor = FixAcceptor(engine, SETTINGS)
        yield acceptor
        acceptor.close()


@pytest.fixture
def client(acceptor):
    c = _Client(acceptor.address[1])
    c.sock.sendall(c.message("A", (98, 0), (108, 30), (554, "bench")))
    assert c.receive("A").get(108) == "30"
    yield c
    c.sock.close()


def order(c: _Client, cl: str, seq: int | None = None, possdup: bool = False) -> bytes:
    now = utc_timestamp(time.time_ns())
    if seq is not None:
        c.seq = seq
    header = [(43, "Y"), (122, now)] if possdup else []
    body = [(11, cl), (55, "XYZ"), (54, 1), (60, now), (38, 100), (40, 2), (44, "90.00")]
    return c.message("D", *header, *body)


def test_garbled_bytes_are_dropped_and_the_next_message_is_read(client):
    good = order(client, "ok-1")
    garbage = b"\x00\x01junk" + good[:-4] + b"999\x01"  # a copy with a bad checksum
    client.sock.sendall(garbage + good)
    ack = client.receive("8")
    assert (ack.get(11), ack.get(150)) == ("ok-1", "0")


def test_a_gap_gets_a_resend_request_and_the_possdup_fills_it(client):
    later = order(client, "gap-3", seq=3)
    client.sock.sendall(later)  # 2 never sent
    request = client.receive("2")
    assert (request.get(7), request.get(16)) == ("2", "0")
    client.sock.sendall(order(client, "gap-2", seq=2, possdup=True))
    first, second = client.receive("8"), client.receive("8")
    assert [first.get(11), second.get(11)] == ["gap-2", "gap-3"]


def test_a_second_connection_for_a_logged_on_session_is_refused(acceptor, client):
    intruder = _Client(acceptor.address[1])
    try:
        intruder.sock.sendall(intruder.message("A", (98, 0), (108, 30), (554, "bench")))
        logout = intruder.receive("5")
        assert logout.get(58) == "the session is already logged on"
        intruder.sock.settimeout(5)
        assert intruder.sock.recv(1) == b""  # and disconnected
    finally:
        intruder.sock.close()
    client.sock.sendall(order(client, "still-1"))
    assert client.receive("8").get(11) == "still-1"  # the first connection is untouched


def test_shutdown_can_cancel_working_orders_and_logs_out(acceptor, client):
    client.sock.sendall(order(client, "w-1"))
    assert client.receive("8").get(150) == "0"
    assert acceptor.cancel_working_orders() == 1
    cancelled = client.receive("8")
    while cancelled.get(150) == "6":  # pending cancel while a venue order settles
        cancelled = client.receive("8")
    assert (cancelled.get(11), cancelled.get(150), cancelled.get(151)) == ("w-1", "4", "0")
    acceptor.close(timeout_s=1.0)
    assert client.receive("5").get(58) == "the gateway is shutting down"


def test_a_closed_listener_refuses_new_connections(acceptor):
    acceptor.close(timeout_s=1.0)
    with pytest.raises(OSError):
        socket.create_connection(acceptor.address, timeout=2).recv(1)
