"""Which scorecard a router starts with: after a restart its last save whole (and the
save, to replay after); in a new run only what was learnt, from its own trail or a
previous run's; else a blank one."""

from __future__ import annotations

from engine.audit.journal import Journal
from engine.messages import (
    Liquidity,
    PlaceVenueOrder,
    ScorecardSaved,
    Side,
    TimeInForce,
    VenueOrderFilled,
)
from engine.routing.persistence import latest_saved, learnt_only, restore_scorecard
from engine.routing.scorecard import Scorecard


def _learnt() -> Scorecard:
    """A scorecard with one filled order and one still open."""
    card = Scorecard()
    for oid in ("A", "B"):
        order = PlaceVenueOrder(
            venue="LIT1",
            order_id=oid,
            parent_id="P1",
            child_id="C1",
            instrument="XYZ",
            side=Side.BUY,
            quantity=100,
            price=100,
            tif=TimeInForce.DAY,
        )
        card.record(order, 0)
    fill = VenueOrderFilled(
        venue="LIT1",
        order_id="A",
        fill_id="F1",
        quantity=100,
        price=100,
        liquidity=Liquidity.MAKER,
        leaves=0,
    )
    card.record(fill, 10)
    return card


def _trail(*saves: ScorecardSaved) -> Journal:
    trail = Journal(":memory:")
    trail.extend(saves)
    return trail


def _save(router: str, card: Scorecard, msg_id: int) -> ScorecardSaved:
    return ScorecardSaved(router=router, reason="periodic", state=card.to_json(), msg_id=msg_id)


def test_after_a_restart_the_routers_own_last_save_is_taken_whole():
    old, last = _save("router", Scorecard(), 1), _save("router", _learnt(), 2)
    with _trail(old, last, _save("other", Scorecard(), 3)) as trail:
        assert latest_saved(trail, "router") == last
        card, saved = restore_scorecard(trail, "router", restarted=True, initial=None)
    assert saved == last
    assert card.to_state() == _learnt().to_state()
    assert card.to_state().open_orders  # the session's open orders came back


def test_a_new_run_takes_only_what_was_learnt():
    with _trail(_save("router", _learnt(), 1)) as trail:
        card, saved = restore_scorecard(trail, "router", restarted=False, initial=None)
    assert saved is None
    assert card.to_state() == learnt_only(_learnt().to_state())
    assert not card.to_state().open_orders and card.stats("LIT1", "XYZ").orders == 2


def test_without_a_save_the_initial_source_then_a_blank_scorecard():
    with _trail() as trail:
        card, saved = restore_scorecard(trail, "router", restarted=True, initial=_learnt())
    assert saved is None and card.to_state() == learnt_only(_learnt().to_state())
    card, _ = restore_scorecard(None, "router", restarted=False, initial=None)
    assert card.to_state() == Scorecard().to_state()
