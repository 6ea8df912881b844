"""Where and how to send a child's unrouted quantity: one pure planner per routing logic.

The planner reads the market (``MarketView``), the scorecard and the venue fee schedule and
returns a ``Plan``: venue placements (each with an optional resting timeout), the reason,
and the scorecard values it used. It never mutates anything but the child's routing
memory (sequential cycle, liquidity phase).

Prices: AGGRESSIVE crosses to the venue's far touch (a marketable limit); MIDPOINT rests
in dark pools pegged to the mid, with a protective limit at the far touch. Every price is
capped by the child's limit, so a child never breaches it.

PASSIVE (and MIDPOINT with no pool up, resting on a lit venue instead) is priced per
venue from that venue's own quote and sent post-only (``Planner._passive``): it joins the
venue's own touch, never improves it, never takes. A locked or crossed consolidated view
leaves it one tick behind every far touch seen; a stale quote (``stale_quote_ns``), a down
venue or an empty own side leave the venue out; a venue never heard from gets the child's
limit (post-only guards it). A post-only refusal means our view was stale, not that the
venue failed: that quote is set aside until the venue's next update (``MarketView.outdate``)
and the child is routed again at once.
"""

from __future__ import annotations

from engine.market_view import MarketView
from engine.messages import RoutingLogic
from engine.routing.config import RouterConfig
from engine.routing.orders import Child
from engine.routing.plan import Placement, Plan, VenueInfo
from engine.routing.planner_core import DEFAULT_TICK
from engine.routing.seeking import LiquiditySeeking

__all__ = ["Placement", "Plan", "Planner", "RouterConfig", "VenueInfo"]


class Planner(LiquiditySeeking):
    """Dispatches a child to its routing logic (see the module docstring for prices)."""

    __slots__ = ()

    def plan(
        self,
        child: Child,
        market: MarketView,
        unrouted: int,
        lot: int,
        *,
        tick: int = DEFAULT_TICK,
        now_ns: int | None = None,
    ) -> Plan:
        """``now_ns`` dates the quotes (None: every quote counts as fresh)."""
        self._tick, self._now = tick, now_ns
        cmd = child.cmd
        if cmd.routing is RoutingLogic.LIQUIDITY_SEEKING:
            return self._liquidity_seeking(child, market, unrouted, lot)
        kind = self._kind(child)
        if cmd.routing is RoutingLogic.PARALLEL:
            return self._parallel(child, market, unrouted, lot, kind)
        return self._sequential(child, market, unrouted, kind)

    def untried(self, child: Child) -> bool:
        """Sequential: a venue is left in this cycle, so move on without pausing."""
        if child.cmd.routing is not RoutingLogic.SEQUENTIAL:
            return False
        return any(v not in child.tried for v in self._eligible(child, self._kind(child)))
