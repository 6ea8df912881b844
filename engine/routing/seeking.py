"""Liquidity seeking: dark first, then Cont–Kukanov on the lit venues (the planner's third
logic, on top of ``engine.routing.planner_core``)."""

from __future__ import annotations

import zlib

import msgspec

from engine.market_view import MarketView
from engine.messages import (
    OrderType,
    Side,
    Tactic,
    TimeInForce,
    VenueKind,
    VenuePlacement,
)
from engine.routing import cont_kukanov as ck
from engine.routing.orders import Child, LiquidityPhase
from engine.routing.plan import Placement, Plan
from engine.routing.planner_core import PlannerCore
from engine.routing.sizing import (
    cap,
    far_depth,
    near_touch,
    split,
    split_min,
)


class LiquiditySeeking(PlannerCore):
    """The liquidity-seeking logic (``_liquidity_seeking``) and its parts."""

    __slots__ = ()

    def _liquidity_seeking(self, child: Child, market: MarketView, unrouted: int, lot: int) -> Plan:
        """Dark first, then Cont–Kukanov on the lit venues.

        A MIDPOINT child rests in the dark for as long as a pool is up (that is its
        tactic): it is never parked with nothing working. Any other child probes the dark
        once per lit round, only if a cross at the current mid is within its limit (a
        passive child's limit at its own touch cannot trade at the mid: probing it would
        only wait and teach the scorecard a miss the pool did not cause), and only while a
        pool is expected to hold liquidity after the first probe. A passive child's probe
        rests for ``dark_timeout_ns``; an aggressive child's is an IOC ping (it is behind
        schedule: it must not sit out its life in the dark).
        """
        if child.cmd.tactic is Tactic.MIDPOINT:
            if self._lit_fallback(child):
                # No pool up: rest on the best lit venue, as sequential does (nothing to
                # take, so nothing for a Cont–Kukanov split to decide).
                return self._sequential(child, market, unrouted, VenueKind.LIT)
            return self._dark_probe(child, market, unrouted, lot, explore=True)
        if child.phase is LiquidityPhase.DARK:
            child.phase = LiquidityPhase.LIT
            first = not child.orders  # nothing sent yet: explore even an unlikely pool
            plan = self._dark_probe(child, market, unrouted, lot, explore=first)
            if plan.placements:
                return plan
        child.phase = LiquidityPhase.DARK  # the next round looks in the dark again
        return self._cont_kukanov(child, market, unrouted, lot)

    def _lit_fallback(self, child: Child) -> bool:
        """A MIDPOINT child with no dark pool up (none configured, all down or rejecting)."""
        return not self._eligible(child, VenueKind.DARK)

    def _crossable(self, child: Child, market: MarketView) -> int | None:
        """The lit mid if a dark cross there is within the child's limit now, else None."""
        mid = market.mid()
        limit = child.cmd.limit_price
        if mid is None:
            return None
        if limit is not None and (mid > limit if child.cmd.side is Side.BUY else mid < limit):
            return None
        return mid

    def _dark_probe(
        self, child: Child, market: MarketView, unrouted: int, lot: int, explore: bool
    ) -> Plan:
        """Send ``unrouted`` to the pools most likely to hold contra, sized by their fill
        probability but never in slices below ``dark_min_slice`` (a probe split into a few
        shares per pool fills a few shares per contra block). With ``explore``, when no pool
        reaches ``dark_min_fill_prob`` the best-ranked one is probed anyway: the estimate
        only moves with our own orders, so a pool never probed again could never recover."""
        cfg, instrument = self.config, child.cmd.instrument
        darks = self._eligible(child, VenueKind.DARK)
        if not darks:
            return self._nothing(child, "no dark pool up")
        midpoint = child.cmd.tactic is Tactic.MIDPOINT
        mid = self._crossable(child, market)
        if mid is None and not midpoint:
            return self._nothing(child, "a cross at the mid is beyond the child's limit")
        ranked = self._rank(child, darks, Tactic.MIDPOINT)
        probs = {v: self.scorecard.stats(v, instrument).fill_prob() for v in ranked}
        likely = [v for v in ranked if probs[v] >= cfg.dark_min_fill_prob]
        exploring = not likely
        if exploring:
            if not explore:
                return self._nothing(child, "no dark pool expected to hold liquidity")
            likely = ranked[:1]
        ping = child.cmd.tactic is Tactic.AGGRESSIVE
        placements = self._dark_slices(child, market, likely, probs, unrouted, lot, ping)
        if not placements:
            return self._nothing(child, "no price for dark pools")
        used = dict(self._used(child, ranked))
        used["dark_probe"] = {
            "mid": float(mid) if mid is not None else -1.0,
            "min_fill_prob": cfg.dark_min_fill_prob,
            "explore": float(exploring),
            "ioc": float(ping),
            "pools": float(len(placements)),
        }
        what = (
            "explore the best-ranked pool (none expected)"
            if exploring
            else (
                f"{len(placements)} of {len(ranked)} pools with fill probability ≥ "
                f"{cfg.dark_min_fill_prob}"
            )
        )
        how = "IOC ping" if ping else "rest at mid"
        return Plan(
            placements=placements,
            reason=f"liquidity seeking: dark first, {how}, {what}",
            considered=ranked,
            extra=used,
        )

    def _dark_slices(
        self,
        child: Child,
        market: MarketView,
        likely: list[str],
        probs: dict[str, float],
        unrouted: int,
        lot: int,
        ping: bool,
    ) -> list[Placement]:
        """The probe's placements: ``unrouted`` over at most one pool per
        ``dark_min_slice``, the likeliest first, sized by fill probability."""
        cfg = self.config
        pools = max(1, min(len(likely), unrouted // max(cfg.dark_min_slice, lot)))
        likely = likely[:pools]
        # A split by fill probability can still leave a slice below the minimum (500 at
        # 0.83 / 0.33 is 400 / 100): the lightest pool is then left out of the probe.
        sizes = split_min(
            unrouted,
            [(v, probs[v]) for v in likely],
            lot,
            cfg.dark_min_slice,
            lambda total, weights, lot: self._sizes(total, weights, lot, ping),
        )
        placements = []
        for v, q in sizes:
            p = self._placement(child, market, v, q, Tactic.MIDPOINT, cfg.dark_timeout_ns)
            if p is None:
                continue
            if ping:  # take what rests in the pool now, then move on to the lit venues
                ioc = msgspec.structs.replace(p.placement, tif=TimeInForce.IOC)
                p = Placement(placement=ioc, timeout_ns=None)
            placements.append(p)
        return placements

    def _queue(self, child: Child, market: MarketView, venue: str, join: int) -> int:
        near = near_touch(market.venues.get(venue), child.cmd.side)
        return near[1] if near and near[0] == join else 0

    def _ck_queue(
        self, child: Child, market: MarketView, venue: str, join: int, unrouted: int
    ) -> ck.VenueQueue:
        """A lit venue as the solver sees it: the queue ahead at ``join``, the rebate, and
        the venue's recent outflows."""
        q = self._queue(child, market, venue, join)
        samples = self.scorecard.outflow_samples(
            venue, child.cmd.instrument, self.config.ck_horizon_intervals
        )
        # no history yet: assume the queue turns over about once per horizon
        samples = samples or [0, q, 2 * q + unrouted]
        return ck.VenueQueue(
            name=venue,
            queue=q,
            rebate=-float(self.venues[venue].maker_fee),
            outflows=tuple(samples),
        )

    def _cont_kukanov(self, child: Child, market: MarketView, unrouted: int, lot: int) -> Plan:
        cmd, cfg = child.cmd, self.config
        lits = self._rank(child, self._eligible(child, VenueKind.LIT), Tactic.PASSIVE)
        bid, ask = market.best_bid(), market.best_ask()
        if not lits or bid is None or ask is None:
            return self._nothing(child, "no lit venue with a two-sided market")
        joins = {v: self._passive(child, market, v) for v in lits}
        lits = [v for v in lits if joins[v] is not None]
        if not lits:
            return self._nothing(child, "no lit venue quoting our side")
        queues = [self._ck_queue(child, market, v, joins[v] or 0, unrouted) for v in lits]
        cost = ck.CostModel(
            half_spread=(ask - bid) / 2,
            taker_fee=float(min(self.venues[v].taker_fee for v in lits)),
            impact=cfg.ck_impact,
            under_penalty=cfg.ck_under_penalty,
            over_penalty=cfg.ck_over_penalty,
        )
        if len(queues) == 1:
            sol = ck.single_venue(unrouted, queues[0], cost)
        else:
            seed = cfg.seed ^ zlib.crc32(f"{cmd.child_id}/{child.seq}".encode())
            sol = ck.solve(unrouted, queues, cost, seed=seed, iterations=cfg.ck_iterations)
        market_qty, limits = self._fit(sol, unrouted, lot, child, market)
        placements = self._market_orders(child, market, lits, market_qty, lot)
        for v, q in zip(lits, limits, strict=True):
            if q > 0:
                placements.append(
                    Placement(
                        placement=VenuePlacement(
                            venue=v,
                            quantity=q,
                            order_type=OrderType.LIMIT,
                            price=joins[v],
                            post_only=True,
                        ),
                        timeout_ns=cfg.sequential_timeout_ns,
                    )
                )
        if not placements:
            return self._nothing(child, "Cont–Kukanov split is empty")
        used = dict(self._used(child, lits))
        used["cont_kukanov"] = {
            "p": round(ck.critical_probability(cost, queues[0].rebate), 6),
            "market": float(sol.market),
            "limits": float(sum(sol.limits)),
            "half_spread": cost.half_spread,
        }
        return Plan(
            placements=placements,
            reason=f"liquidity seeking: Cont–Kukanov M={market_qty} "
            f"L={sum(limits)} over {len(lits)} lit venues",
            considered=lits,
            extra=used,
        )

    def _fit(
        self, sol: ck.Split, unrouted: int, lot: int, child: Child, market: MarketView
    ) -> tuple[int, list[int]]:
        """Whole lots; the limit orders scaled into S − M."""
        side, limit = child.cmd.side, child.cmd.limit_price
        far = market.best_ask() if side is Side.BUY else market.best_bid()
        # a passive child never takes: what the solver would take is posted instead
        reachable = (
            child.cmd.tactic is not Tactic.PASSIVE
            and far is not None
            and cap(far, side, limit) == far
        )
        market_qty = min(sol.market, unrouted) if reachable else 0
        market_qty -= market_qty % lot
        limits = list(sol.limits)
        if not reachable:  # the limit forbids taking: post what would have been taken
            limits[0] += sol.market
        room = unrouted - market_qty
        if sum(limits) != room:
            # scale into S − M (resting orders are never over-allocated: see _sizes; the
            # remainder goes to the limits, not lost)
            names = [str(i) for i in range(len(limits))]
            fitted = dict(split(room, list(zip(names, map(float, limits), strict=True)), lot))
            limits = [fitted.get(n, 0) for n in names]
        else:
            limits = [q - q % lot for q in limits]
        return market_qty, limits

    def _market_orders(
        self, child: Child, market: MarketView, lits: list[str], qty: int, lot: int
    ) -> list[Placement]:
        """Take M across lit venues by displayed far-side depth within the limit, best first."""
        if qty <= 0:
            return []
        side, limit = child.cmd.side, child.cmd.limit_price
        depth = [(v, far_depth(market.venues.get(v), side, limit)) for v in lits]
        depth = [(v, d) for v, d in depth if d > 0] or [(lits[0], 1)]
        out = []
        for v, q in split(qty, [(v, float(d)) for v, d in depth], lot):
            p = self._placement(child, market, v, q, Tactic.AGGRESSIVE, None)
            if p is not None:  # M is a market order: take now, never rest
                ioc = msgspec.structs.replace(p.placement, tif=TimeInForce.IOC)
                out.append(Placement(placement=ioc, timeout_ns=None))
        return out
