"""Many instruments in one engine: a book per venue and instrument, each instrument's
market on its own random stream, isolation between books, netting per instrument, and
orders for an instrument no venue trades refused with a reason."""

import json

import msgspec
import pytest

from actors import Engine, MarketConfig, logs
from engine import messages as m
from engine.clock import MINUTE, SECOND
from engine.config import VenueConfig
from engine.instruments import Instrument
from engine.prices import to_price

AAA = Instrument(symbol="AAA", ref_price=to_price("50"), daily_volume=2_000_000, volatility=0.02)
BBB = Instrument(symbol="BBB", ref_price=to_price("120"), daily_volume=800_000, volatility=0.03)
CCC = Instrument(symbol="CCC", ref_price=to_price("20"))
VENUES = [
    VenueConfig(name="LIT1"),
    VenueConfig(name="LIT2", instruments=("AAA", "BBB")),  # not CCC
    VenueConfig(name="DARK", kind=m.VenueKind.DARK),
]


def market(*instruments: Instrument, venues=VENUES) -> MarketConfig:
    return MarketConfig(instruments=list(instruments), venues=venues)


def order(cid, symbol, side, qty, source="OMS", minutes=20):
    open_ns = MarketConfig(instruments=[AAA], venues=VENUES).session.open_ns
    mandate = m.Mandate(strategy=m.StrategyName.TWAP, end_ns=open_ns + minutes * MINUTE)
    return m.ClientOrder(
        source=source,
        account=f"ACC-{source}",
        client_order_id=cid,
        instrument=symbol,
        side=side,
        quantity=qty,
        mandate=mandate,
    )


def book_tape(engine: Engine, symbol: str) -> list[tuple]:
    """The periodic publications of ``symbol``'s books, by venue and time, without the
    run-wide message ids."""
    open_ns, every = engine.market.session.open_ns, VENUES[0].md_interval_ns
    return sorted(
        (md.venue, md.ts, md.volume, msgspec.json.encode(md.bids), msgspec.json.encode(md.asks))
        for md in engine.journal.messages(m.MarketDataUpdated)
        if md.instrument == symbol and (md.ts - open_ns) % every == 0
    )


def test_one_book_actor_per_venue_and_instrument_it_trades():
    with Engine(market(AAA, BBB, CCC), seed=3) as engine:
        engine.run_until(engine.market.session.open_ns + MINUTE)
        assert sorted(n for n in engine.venue_names if ":" in n) == [
            "DARK:AAA",
            "DARK:BBB",
            "DARK:CCC",
            "LIT1:AAA",
            "LIT1:BBB",
            "LIT1:CCC",
            "LIT2:AAA",
            "LIT2:BBB",
        ]
        heard = {(md.venue, md.instrument) for md in engine.journal.messages(m.MarketDataUpdated)}
        assert ("LIT2", "CCC") not in heard and ("LIT1", "CCC") in heard


def test_an_instruments_market_does_not_depend_on_the_other_instruments():
    """Same seed: AAA's books trade the same with or without BBB and CCC beside them
    (the shards of a run must see the same market for their instruments)."""
    tapes = []
    for instruments in ((AAA,), (CCC, AAA, BBB)):
        with Engine(market(*instruments), seed=11) as engine:
            engine.run_until(engine.market.session.open_ns + 15 * MINUTE)
            tapes.append(book_tape(engine, "AAA"))
    alone, shared = tapes
    assert len(alone) > 100 and alone == shared


def test_books_follow_the_instruments_parameters():
    with Engine(market(AAA, BBB), seed=2) as engine:
        engine.run_until(engine.market.session.open_ns + 30 * MINUTE)
        tops = {}
        for md in engine.journal.messages(m.MarketDataUpdated):
            if md.venue == "LIT1" and md.bids:
                tops[md.instrument] = md.bids[0].price
    assert abs(tops["AAA"] - to_price("50")) < to_price("1")
    assert abs(tops["BBB"] - to_price("120")) < to_price("3")


def test_a_fault_on_one_instruments_book_leaves_the_others_orders_alone():
    """LIT1's AAA book rejects every order and then is crashed (an exchange reset of that
    book); BBB's orders at LIT1 are accepted and never touched by either."""
    with Engine(market(AAA, BBB), seed=5) as engine:
        open_ns = engine.market.session.open_ns
        engine.inject_fault("LIT1:AAA", "reject_orders", at_ns=open_ns)
        engine.inject_crash("LIT1:AAA", at_ns=open_ns + 5 * MINUTE)
        for i in range(4):
            at = open_ns + (i + 1) * SECOND
            engine.submit(order(f"a{i}", "AAA", m.Side.BUY, 2_000), at_ns=at)
            engine.submit(order(f"b{i}", "BBB", m.Side.SELL, 2_000), at_ns=at)
        engine.run_until(open_ns + 25 * MINUTE)
        places = {p.order_id: p for p in engine.journal.messages(m.PlaceVenueOrder)}
        rejected = [
            places[r.order_id].instrument
            for r in engine.journal.messages(m.VenueOrderRejected)
            if r.venue == "LIT1"
        ]
        bbb_at_lit1 = {
            oid for oid, p in places.items() if p.instrument == "BBB" and p.venue == "LIT1"
        }
        lost = [  # what a reset book answers about an order it no longer knows
            c.order_id
            for c in engine.journal.messages(m.VenueCancelRejected)
            if c.reason == "unknown_order"
        ]
        restarted = [r.name for r in engine.journal.messages(m.ActorRestarted)]
        reports = [r for r in engine.reports if isinstance(r, m.ExecutionReport)]
    assert rejected and set(rejected) == {"AAA"}  # only AAA's book refused anything
    assert bbb_at_lit1 and not bbb_at_lit1 & set(lost)  # BBB's LIT1 orders survived
    assert restarted == ["LIT1:AAA"]
    last = {r.client_order_id: r for r in reports}  # each order's last report
    # BBB's orders worked to their mandate's end untouched: a TWAP ending at 20 min fills
    # in its last seconds, all or a few shares short (then expired)
    ended = (m.OrdStatus.FILLED, m.OrdStatus.EXPIRED)
    for b in (last[f"b{i}"] for i in range(4)):
        assert b.ord_status in ended and b.cum_qty >= 0.99 * 2_000


def test_a_venues_crash_restarts_each_instruments_book_alone_however_many():
    """A venue's crash fails each of its books: each instrument's books have their own
    supervisor, so each book is restarted alone whether the engine trades two
    instruments or more than the restart intensity (3), never the whole market."""
    extra = [
        Instrument(symbol=f"X{i}", ref_price=to_price("30"), daily_volume=500_000) for i in range(3)
    ]
    with Engine(market(AAA, BBB, *extra), seed=5) as engine:
        engine.inject_crash("LIT1", at_ns=engine.market.session.open_ns + MINUTE)
        engine.run_until(engine.market.session.open_ns + 2 * MINUTE)
        restarted = sorted(r.name for r in engine.journal.messages(m.ActorRestarted))
        escalated = list(engine.journal.messages(m.SupervisorEscalated))
    assert restarted == sorted(f"LIT1:{s}" for s in ("AAA", "BBB", "X0", "X1", "X2"))
    assert not escalated


def test_opposing_orders_net_within_an_instrument_never_across():
    with Engine(market(AAA, BBB), seed=7) as engine:
        at = engine.market.session.open_ns + SECOND
        engine.submit(order("buy-a", "AAA", m.Side.BUY, 1_000, source="PM1"), at_ns=at)
        engine.submit(order("sell-a", "AAA", m.Side.SELL, 400, source="PM2"), at_ns=at)
        engine.submit(order("sell-b", "BBB", m.Side.SELL, 600, source="PM3"), at_ns=at)
        engine.run_until(at + 25 * MINUTE)
        internal: dict[str, int] = {}
        filled: dict[str, int] = {}
        for r in engine.reports:
            if isinstance(r, m.ExecutionReport) and r.exec_type is m.ExecType.TRADE:
                filled[r.client_order_id] = filled.get(r.client_order_id, 0) + r.last_qty
                if r.internal:
                    assert r.instrument == "AAA"
                    internal[r.client_order_id] = internal.get(r.client_order_id, 0) + r.last_qty
    assert internal == {"buy-a": 400, "sell-a": 400}
    assert filled == {"buy-a": 1_000, "sell-a": 400, "sell-b": 600}


def test_an_order_for_an_instrument_no_venue_trades_is_rejected_with_a_reason():
    nowhere = [VenueConfig(name="LIT1", instruments=("AAA",))]
    with Engine(market(AAA, BBB, venues=nowhere), seed=1) as engine:
        at = engine.market.session.open_ns + SECOND
        engine.submit(order("b", "BBB", m.Side.BUY, 100), at_ns=at)  # listed, traded nowhere
        engine.submit(order("z", "ZZZ", m.Side.BUY, 100), at_ns=at)  # not in the market
        engine.submit(order("a", "AAA", m.Side.BUY, 100), at_ns=at)
        engine.run_until(at + MINUTE)
        rejects = {
            r.client_order_id: r for r in engine.reports if isinstance(r, m.ClientOrderRejected)
        }
    assert sorted(rejects) == ["b", "z"]
    assert all(r.reason == "unknown_instrument" for r in rejects.values())
    assert "'BBB'" in rejects["b"].text and "'ZZZ'" in rejects["z"].text


SMALL_PORTFOLIO = """
name = "small-portfolio"
seed = 5
run_until = "10:20"
md_relay_ms = 10000
md_peer_ms = 30000
[universe]
instruments = 3
[rebalance]
orders = 30
start = "09:31"
end = "09:40"
mandates_end = "10:10"
[[venues]]
name = "LIT1"
[[venues]]
name = "LIT2"
[[venues]]
name = "DARK"
kind = "dark"
instruments = ["U001"]
"""


@pytest.fixture
def library_logging():
    """The command line sends the engine's records to this test's captured stderr; a
    later test must not log into it once it is closed: the library's default after."""
    yield
    logs.disable()


def test_the_cli_reports_the_portfolio_roll_up_in_json_text_and_html(
    tmp_path, capsys, library_logging
):
    from actors.cli import main

    (tmp_path / "p.toml").write_text(SMALL_PORTFOLIO)
    common = ["run", str(tmp_path / "p.toml"), "--quiet", "--overwrite"]
    assert main([*common, "--audit", str(tmp_path / "a.sqlite"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["instruments"] == 3 and out["client_orders"] > 20
    tca = out["tca"]
    assert [b["key"] for b in tca["instruments"]] == ["U001", "U002", "U003"]
    assert {b["key"] for b in tca["venues"]} <= {"LIT1", "LIT2", "DARK", "internal"}
    assert tca["total"]["filled"] == sum(b["filled"] for b in tca["instruments"]) > 0
    assert tca["total"]["cost_vs_arrival_bps"] is not None
    report = tmp_path / "report"
    assert main([*common, "--audit", str(tmp_path / "b.sqlite"), "--report", str(report)]) == 0
    text = capsys.readouterr().out
    assert "By instrument (3)" in text and f"audit-digest: {out['audit_digest']}" in text
    page = (report / "report.html").read_text()
    assert "By strategy" in page and "U003" in page
