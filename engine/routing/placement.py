"""Where and how to send a child's unrouted quantity: one pure planner per routing logic.

The planner reads the market (``MarketView``), the scorecard and the venue fee schedule and
returns a ``Plan``: venue placements (each with an optional resting timeout), the reason,
and the scorecard values it used. It never mutates anything but the child's routing
memory (sequential cycle, liquidity phase).

Prices: AGGRESSIVE crosses to the venue's far touch (a marketable limit); MIDPOINT rests
in dark pools pegged to the mid, with a protective limit at the far touch. Every price is
capped by the child's limit, so a child never breaches it.

PASSIVE (and MIDPOINT with no pool up, which rests on a lit venue instead) is priced per
venue, from that venue's own quote, and sent post-only: it joins the venue's own touch and
never improves it (no tactic asks for that), and never takes. The rules:

- own quote fresh, our side shown: join it, one tick behind every far touch seen (the
  venue's own and the consolidated one). A locked or crossed consolidated view (stale
  quotes meet on different venues) therefore never makes the order marketable: it rests
  behind the lowest offer (highest bid) we see, behind its own touch if need be;
- own quote stale (older than ``RouterConfig.stale_quote_ns``), the venue down, or our
  side empty there: the venue is not used for this order (another one is, or the child
  waits for market data);
- venue never heard from (no quote at all, e.g. before the first publication): the
  child's limit, post-only: the venue refuses it if it would take;
- the venue refusing post-only (our view was stale: its book moved through our price) is
  no venue failure: the child waits for market data and is priced again.
"""

from __future__ import annotations

import zlib

import msgspec

from engine.instruments import Instrument
from engine.market_view import MarketView
from engine.messages import (
    OrderType,
    RoutingLogic,
    Side,
    Tactic,
    TimeInForce,
    VenueKind,
    VenuePlacement,
    VenueStatus,
)
from engine.routing import cont_kukanov as ck
from engine.routing.config import RouterConfig
from engine.routing.orders import Child, LiquidityPhase
from engine.routing.plan import Placement, Plan, VenueInfo
from engine.routing.scorecard import Scorecard
from engine.routing.sizing import (
    cap,
    far_depth,
    far_levels,
    near_touch,
    passive_price,
    split,
    split_min,
)

__all__ = ["Placement", "Plan", "Planner", "RouterConfig", "VenueInfo"]

_DEFAULT_TICK = Instrument(symbol="_", ref_price=1).tick


def _by_weight(vw: tuple[str, float]) -> float:
    return -vw[1]


# ------------------------------------------------------------------ planner


class Planner:
    __slots__ = ("_eligible_cache", "_now", "_priors", "_tick", "_venues", "config", "scorecard")

    def __init__(self, config: RouterConfig, venues: dict[str, VenueInfo], scorecard: Scorecard):
        self.config = config
        self.scorecard = scorecard
        self.venues = venues
        self._tick = _DEFAULT_TICK
        self._now: int | None = None

    @property
    def venues(self) -> dict[str, VenueInfo]:
        return self._venues

    @venues.setter
    def venues(self, venues: dict[str, VenueInfo]) -> None:
        self._venues = venues
        # (instrument, kind) → (scorecard status epoch, venues of that kind not down)
        self._eligible_cache: dict[tuple[str, VenueKind], tuple[int, list[str]]] = {}
        # tactic → fee prior per venue (see _fee_prior)
        self._priors: dict[Tactic, dict[str, float]] = {}

    def plan(
        self,
        child: Child,
        market: MarketView,
        unrouted: int,
        lot: int,
        *,
        tick: int = _DEFAULT_TICK,
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

    def _kind(self, child: Child) -> VenueKind:
        """MIDPOINT rests in the dark while a pool is up; everything else is lit."""
        if child.cmd.tactic is Tactic.MIDPOINT and self._eligible(child, VenueKind.DARK):
            return VenueKind.DARK
        return VenueKind.LIT

    # --------------------------------------------------------------- helpers

    def _eligible(self, child: Child, kind: VenueKind) -> list[str]:
        """Venues of ``kind`` that are not down and have not rejected this child, by name.
        Shared list: do not mutate."""
        instrument = child.cmd.instrument
        card = self.scorecard
        found = self._eligible_cache.get((instrument, kind))
        if found is None or found[0] != card.status_epoch:
            found = self._eligible_cache[(instrument, kind)] = (
                card.status_epoch,
                [
                    v
                    for v, info in sorted(self.venues.items())
                    if info.kind is kind and card.status(v, instrument) is not VenueStatus.DOWN
                ],
            )
        avoid = child.avoid
        return [v for v in found[1] if v not in avoid] if avoid else found[1]

    def _all_rejected(self, child: Child) -> bool:
        """Every venue up that this child may use has rejected it: retrying cannot help."""
        kinds = {VenueKind.LIT}
        if (
            child.cmd.tactic is Tactic.MIDPOINT
            or child.cmd.routing is RoutingLogic.LIQUIDITY_SEEKING
        ):
            kinds.add(VenueKind.DARK)
        up = [
            v
            for v, info in sorted(self.venues.items())
            if info.kind in kinds
            and self.scorecard.status(v, child.cmd.instrument) is not VenueStatus.DOWN
        ]
        return bool(up) and all(v in child.avoid for v in up)

    def _nothing(self, child: Child, why: str) -> Plan:
        if self._all_rejected(child):
            return Plan(
                reason=f"give up: every venue up rejected ({child.last_reject})", give_up=True
            )
        return Plan(reason=f"wait: {why}", wait=True)

    def _fee_prior(self, venue: str, tactic: Tactic) -> float:
        info = self.venues[venue]
        if info.kind is VenueKind.LIT and tactic is Tactic.PASSIVE:
            return float(info.maker_fee)
        return float(info.taker_fee)

    def _rank(self, child: Child, venues: list[str], tactic: Tactic) -> list[str]:
        priors = self._priors.get(tactic)
        if priors is None:
            priors = self._priors[tactic] = {v: self._fee_prior(v, tactic) for v in self.venues}
        return self.scorecard.rank(venues, child.cmd.instrument, priors, self.config.miss_penalty)

    def _price(
        self, child: Child, market: MarketView, venue: str, tactic: Tactic
    ) -> tuple[int | None, bool]:
        """The limit price for this venue and tactic, capped by the child's limit, and
        whether the cap moved it (the limit is worse than the price the tactic wants)."""
        side, limit = child.cmd.side, child.cmd.limit_price
        if self.venues[venue].kind is VenueKind.DARK:
            far = market.best_ask() if side is Side.BUY else market.best_bid()
            raw = far if far is not None else limit
        elif tactic is Tactic.AGGRESSIVE:
            own_far = far_levels(market.venues.get(venue), side)
            nbbo_far = market.best_ask() if side is Side.BUY else market.best_bid()
            raw = own_far[0].price if own_far else nbbo_far
        else:
            return self._passive(child, market, venue), False
        if raw is None:
            raw = limit
        if raw is None:
            return None, False
        price = cap(raw, side, limit)
        return price, price != raw

    def _passive(self, child: Child, market: MarketView, venue: str) -> int | None:
        """A passive order's price on a lit venue (the rules in the module docstring)."""
        side, limit = child.cmd.side, child.cmd.limit_price
        own = market.venues.get(venue)
        if own is None:  # never heard from: the limit, and post-only guards it
            return limit
        if own.status is VenueStatus.DOWN or (
            self._now is not None and self._now - own.ts > self.config.stale_quote_ns
        ):
            return None
        far = market.best_ask() if side is Side.BUY else market.best_bid()
        return passive_price(own, side, far, limit, self._tick)

    def _placement(
        self,
        child: Child,
        market: MarketView,
        venue: str,
        qty: int,
        tactic: Tactic,
        timeout_ns: int | None,
    ) -> Placement | None:
        price, capped = self._price(child, market, venue, tactic)
        if price is None:
            return None
        taking = tactic is Tactic.AGGRESSIVE and self.venues[venue].kind is VenueKind.LIT
        if taking and (
            child.missed_takes >= self.config.max_missed_takes
            or (capped and child.cmd.routing is RoutingLogic.PARALLEL)
        ):
            # Post instead (see RouterConfig.max_missed_takes): after a run of misses, or,
            # in a parallel sweep, at once when the child's limit is short of the venue's
            # far touch: the sweep puts such a venue in only when no venue shows depth
            # within the limit, so it reaches every venue at once either way, and a limit
            # order there still takes whatever it meets on arrival, then keeps its place
            # instead of missing and coming back every retry_delay_ns. (A sequential
            # child's IOCs instead probe the venues one after another, each against its
            # live book, which our market data may show stale: those keep probing.)
            taking = False
        tif = self.config.aggressive_tif if taking else TimeInForce.DAY
        resting_timeout = None if tif is TimeInForce.IOC else timeout_ns
        post_only = tactic is not Tactic.AGGRESSIVE and self.venues[venue].kind is VenueKind.LIT
        return Placement(
            placement=VenuePlacement(
                venue=venue,
                quantity=qty,
                order_type=OrderType.LIMIT,
                price=price,
                tif=tif,
                post_only=post_only,
            ),
            timeout_ns=resting_timeout,
        )

    def _used(self, child: Child, venues: list[str]) -> dict[str, dict[str, float]]:
        """The scorecard values a decision records: the scorecard's shared snapshot, the
        same object for every decision while the values are unchanged (``dict(...)`` it
        before adding a venue or an entry; copy a per-venue dict before adding to it)."""
        return self.scorecard.summaries(venues, child.cmd.instrument)

    # ------------------------------------------------------------ sequential

    def _sequential(self, child: Child, market: MarketView, unrouted: int, kind: VenueKind) -> Plan:
        tactic = child.cmd.tactic if kind is VenueKind.LIT else Tactic.MIDPOINT
        if tactic is Tactic.MIDPOINT and kind is VenueKind.LIT:
            tactic = Tactic.PASSIVE  # no dark pool up: rest at the lit touch instead
        ranked = self._rank(child, self._eligible(child, kind), tactic)
        if not ranked:
            return self._nothing(child, f"no {kind} venue up")
        fresh = [v for v in ranked if v not in child.tried]
        if not fresh:  # every venue tried this cycle: start again from the best
            child.tried.clear()
            fresh = ranked
        timeout = self.config.sequential_timeout_ns
        found = next(
            (
                (v, p)
                for v in fresh
                if (p := self._placement(child, market, v, unrouted, tactic, timeout)) is not None
            ),
            None,
        )
        if found is None:
            return self._nothing(child, "no price (no quote to join, or no limit)")
        venue, p = found
        child.tried.append(venue)
        return Plan(
            placements=[p],
            reason=f"sequential: {venue} rank {ranked.index(venue) + 1}/{len(ranked)} ({tactic})",
            considered=ranked,
            extra=self._used(child, ranked),
        )

    # -------------------------------------------------------------- parallel

    def _liquidity(self, child: Child, market: MarketView, venue: str, tactic: Tactic) -> float:
        """Displayed plus expected shares this venue can give us now."""
        instrument, side = child.cmd.instrument, child.cmd.side
        md = market.venues.get(venue)
        if self.venues[venue].kind is VenueKind.DARK:
            # hidden: only the estimate
            return self.scorecard.stats(venue, instrument).fill_prob() * child.quantity
        if tactic is Tactic.AGGRESSIVE:
            return float(far_depth(md, side, child.cmd.limit_price))
        stats = self.scorecard.stats(venue, instrument)
        flows = stats.outflows
        expected = sum(flows) / len(flows) if flows else 0.0
        near = near_touch(md, side)
        return (near[1] if near else 0) * stats.fill_prob() + expected * stats.fill_ratio()

    def _parallel(
        self, child: Child, market: MarketView, unrouted: int, lot: int, kind: VenueKind
    ) -> Plan:
        tactic = child.cmd.tactic if kind is VenueKind.LIT else Tactic.MIDPOINT
        if tactic is Tactic.MIDPOINT and kind is VenueKind.LIT:
            tactic = Tactic.PASSIVE
        ranked = self._rank(child, self._eligible(child, kind), tactic)
        if not ranked:
            return self._nothing(child, f"no {kind} venue up")
        priced = [v for v in ranked if self._price(child, market, v, tactic)[0] is not None]
        weights = [(v, self._liquidity(child, market, v, tactic)) for v in priced]
        weights.sort(key=_by_weight)  # stable: ties stay in rank order
        del weights[self.config.parallel_max_venues :]
        sizes = self._sizes(unrouted, weights, lot)
        placements = [
            p
            for v, q in sizes
            if (p := self._placement(child, market, v, q, tactic, None)) is not None
        ]
        if not placements:
            return self._nothing(child, "no price (no quote to join, or no limit)")
        used = dict(self._used(child, ranked))
        for v, w in weights:
            used[v] = {**used[v], "liquidity": round(w, 3)}
        sent = sum(p.placement.quantity for p in placements)
        return Plan(
            placements=placements,
            reason=f"parallel: {sent} over {len(placements)} venues ({tactic})",
            considered=ranked,
            extra=used,
        )

    def _sizes(
        self, unrouted: int, weights: list[tuple[str, float]], lot: int
    ) -> list[tuple[str, int]]:
        if not self.config.overallocate:
            return split(unrouted, weights, lot)
        # over-allocation: each venue up to the whole remainder, Σ ≤ factor × remainder
        budget = int(unrouted * self.config.overallocation_factor)
        return [(v, min(q, unrouted)) for v, q in split(budget, weights, lot)]

    # ---------------------------------------------------- liquidity seeking

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
                # No pool up at all: rest at the lit touch on the best venue, as sequential
                # does. A patient child has no taking to split, and a Cont–Kukanov solve
                # at every re-post would dominate a run with many children.
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
            unrouted, [(v, probs[v]) for v in likely], lot, cfg.dark_min_slice, self._sizes
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
        """Whole lots; without over-allocation scale the limit orders into S − M."""
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
        if self.config.overallocate:
            room = int(unrouted * self.config.overallocation_factor) - market_qty
            limits = [min(q, unrouted) for q in limits]
        if sum(limits) > room or (not self.config.overallocate and sum(limits) < room):
            # scale into the room (the remainder of S − M goes to the limits, not lost)
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
