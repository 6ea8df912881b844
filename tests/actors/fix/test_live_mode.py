"""Live mode a desk can run: today's session, serve_forever/stop, readable rejects, and a
restart on the trail that keeps the orders working."""

import datetime as dt
import threading
import zoneinfo

import pytest

from actors.api import Engine, MarketConfig
from actors.runtime.live import session_from_now, session_today
from engine.audit.journal import Journal
from engine.clock import HOUR, SECOND
from engine.config import VenueConfig
from engine.instruments import Instrument
from engine.messages import ClientOrder, ClientOrderRejected, Mandate, Side

XYZ = Instrument(symbol="XYZ", ref_price=100_000_000)


def market(**session: object) -> MarketConfig:
    return MarketConfig(instrument=XYZ, venues=[VenueConfig(name="LIT")], **session)


def test_a_live_engine_trades_today_in_new_york_by_default():
    with Engine(market(), live=True) as engine:
        zone = zoneinfo.ZoneInfo("America/New_York")
        opens = dt.datetime.fromtimestamp(engine.market.session.open_ns / SECOND, zone)
        assert opens.date() == dt.datetime.now(zone).date()
        assert (opens.hour, opens.minute) == (9, 30)
        assert engine.market.session.length_ns == 6 * HOUR + 30 * 60 * SECOND


def test_session_today_follows_the_zone_and_an_explicit_date():
    day = session_today(open="08:00", close="16:30", zone="Europe/London", date=dt.date(2026, 7, 1))
    assert day.open_ns == int(dt.datetime(2026, 7, 1, 7, 0, tzinfo=dt.UTC).timestamp()) * SECOND
    with pytest.raises(ValueError, match="not after open"):
        session_today(open="16:00", close="09:30")


def test_stop_releases_serve_forever():
    with Engine(market(session=session_from_now(1.0)), live=True) as engine:
        timer = threading.Timer(0.05, engine.stop)
        timer.start()
        engine.serve_forever()  # returns: the test does not hang
        timer.join(timeout=5)


def test_serve_forever_needs_a_live_engine():
    with Engine(market()) as engine, pytest.raises(TypeError, match="live=True"):
        engine.serve_forever()


def test_live_run_returns_at_the_close_plus_grace():
    with Engine(market(session=session_from_now(0.5 / 3600)), live=True) as engine:
        engine.run(grace_ns=0)  # no TypeError; back half a second later
        assert engine.now >= engine.market.session.close_ns


def test_an_order_after_the_close_is_rejected_with_readable_times():
    over = session_today(date=dt.date(2026, 11, 24))
    with Engine(market(session=over), live=True) as engine:
        got = threading.Event()
        rejects: list[ClientOrderRejected] = []

        def on_report(report: object) -> None:
            if isinstance(report, ClientOrderRejected):
                rejects.append(report)
                got.set()

        engine.on_report(on_report)
        order = ClientOrder(
            source="OMS",
            account="A",
            client_order_id="c1",
            instrument="XYZ",
            side=Side.BUY,
            quantity=100,
            mandate=Mandate(),
        )
        engine.submit(order)
        assert got.wait(timeout=10)
    assert rejects[0].reason == "end_in_past"
    assert "2026-11-24 21:00:00.000 UTC <= now 20" in rejects[0].text


def test_serve_forever_returns_when_the_engine_halts():
    with Engine(market(session=session_from_now(1.0)), live=True, max_restarts=0) as engine:
        engine.inject_crash("router")  # no restarts allowed: past the top supervisor
        engine.serve_forever()  # returns instead of waiting for a stop() no one will call
        assert engine.runtime._halt is not None


def reported(engine: Engine, done, timeout_s: float = 15.0):
    """The first report ``done`` accepts, waiting for it up to ``timeout_s``."""
    ready = threading.Event()
    found: list = []

    def seen(report) -> None:
        if not found and done(report):
            found.append(report)
            ready.set()

    engine.on_report(seen)
    for report in list(engine.reports):
        seen(report)
    assert ready.wait(timeout_s), "no such report"
    return found[0]


def test_a_restarted_engine_goes_on_with_the_orders_its_trail_left_working(tmp_path):
    trail = str(tmp_path / "live.sqlite")
    resting = ClientOrder(source="OMS", account="A", client_order_id="r1", instrument="XYZ",
                          side=Side.BUY, quantity=500, limit_price=90_000_000)  # fmt: skip
    with Engine(market(session=session_from_now(1.0)), live=True, audit=trail) as first:
        first.submit(resting)
        new = reported(first, lambda r: r.client_order_id == "r1")
        assert new.exec_type == "new"
    with Engine.restart(trail) as again:  # the order is still the engine's
        assert again.market == first.market
        again.cancel("OMS", "r1")  # pending cancel first while its venue order settles
        done = reported(
            again, lambda r: r.client_order_id == "r1" and r.exec_type != "pending_cancel"
        )
        assert (done.exec_type, done.order_qty, done.cum_qty) == ("canceled", 500, 0)
        assert done.exec_id != new.exec_id


def test_restart_needs_a_trail_an_engine_wrote(tmp_path):
    Journal(str(tmp_path / "empty.sqlite")).close()
    with pytest.raises(ValueError, match="does not say which engine"):
        Engine.restart(str(tmp_path / "empty.sqlite"))
