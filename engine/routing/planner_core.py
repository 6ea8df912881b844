"""The planner's shared ground and its two simple logics: eligible venues, ranking, the
price and shape of one venue placement (the pricing rules are in ``engine.routing.placement``),
sequential and parallel. ``engine.routing.seeking`` adds liquidity seeking on top, and
``engine.routing.placement.Planner`` dispatches a child to its logic."""

from __future__ import annotations

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
from engine.routing.config import RouterConfig
from engine.routing.orders import Child
from engine.routing.plan import Placement, Plan, VenueInfo
from engine.routing.scorecard import Scorecard
from engine.routing.sizing import (
    cap,
    far_depth,
    far_levels,
    near_touch,
    passive_price,
    split,
)

DEFAULT_TICK = Instrument(symbol="_", ref_price=1).tick


def _by_weight(vw: tuple[str, float]) -> float:
    return -vw[1]


class PlannerCore:
    __slots__ = ("_eligible_cache", "_now", "_priors", "_tick", "_venues", "config", "scorecard")

    def __init__(self, config: RouterConfig, venues: dict[str, VenueInfo], scorecard: Scorecard):
        self.config = config
        self.scorecard = scorecard
        self.venues = venues
        self._tick = DEFAULT_TICK
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
                    if info.kind is kind
                    and card.status(v, instrument) is not VenueStatus.DOWN
                    and info.trades(instrument)
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
            and info.trades(child.cmd.instrument)
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
        if child.cmd.routing is RoutingLogic.SEQUENTIAL:
            # Cheapest first: the fee the venue's schedule charges this tactic, a miss
            # weighed as the resting timeout it costs (the next venue takes the rest).
            penalty = self.config.sequential_miss_penalty
            return self.scorecard.rank(venues, child.cmd.instrument, priors, penalty, True)
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
        """A passive order's price on a lit venue, or None to leave the venue out:

        - fresh own quote showing our side: join it, one tick behind every far touch seen
          (own and consolidated: a locked or crossed view never makes it marketable);
        - own quote older than ``stale_quote_ns`` or outdated by a post-only refusal
          (``MarketView.outdate``), venue down, our side empty: None;
        - venue never heard from: the child's limit (post-only: refused if it would take).
        """
        side, limit = child.cmd.side, child.cmd.limit_price
        own = market.venues.get(venue)
        if own is None:  # never heard from: the limit, and post-only guards it
            return limit
        if (
            own.status is VenueStatus.DOWN
            or market.outdated(venue)
            or (self._now is not None and self._now - own.ts > self.config.stale_quote_ns)
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
            # in a parallel sweep, at once when the child's limit is short of the far touch
            # (a limit order takes what it meets on arrival, then keeps its place instead of
            # missing every retry_delay_ns; a sequential child's IOCs keep probing instead,
            # each venue's live book in turn).
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
        # venues not tried this cycle first; if none of them can be priced, a new cycle
        tried = [v for v in ranked if v in child.tried]
        timeout = self.config.sequential_timeout_ns
        found = next(
            (
                (v, p)
                for v in fresh + tried
                if (p := self._placement(child, market, v, unrouted, tactic, timeout)) is not None
            ),
            None,
        )
        if found is None:
            return self._nothing(child, "no price (no quote to join, or no limit)")
        venue, p = found
        if venue not in fresh:
            child.tried.clear()
        child.tried.append(venue)
        return Plan(
            placements=[p],
            reason=f"sequential: {venue} rank {ranked.index(venue) + 1}/{len(ranked)} ({tactic})",
            considered=ranked,
            extra=self._used(child, ranked),
        )

    # -------------------------------------------------------------- parallel

    def _liquidity(
        self, child: Child, market: MarketView, venue: str, tactic: Tactic, unrouted: int
    ) -> float:
        """How much of the child this venue fills, and how soon: the weight a sweep
        splits by and a resting child's choice. Dark: the chance of a fill. A take: the
        displayed shares within the limit. A resting lit order: its fill rate, the
        venue's recent traded shares per market-data interval (times the chance of a
        fill) over the queue it joins behind plus itself: it fills once that queue has
        traded, so a long queue at the touch is depth, but for an order joining it, delay."""
        instrument, side = child.cmd.instrument, child.cmd.side
        md = market.venues.get(venue)
        stats = self.scorecard.stats(venue, instrument)
        if self.venues[venue].kind is VenueKind.DARK:
            return stats.fill_prob() * child.quantity  # hidden: only the estimate
        if tactic is Tactic.AGGRESSIVE:
            return float(far_depth(md, side, child.cmd.limit_price))
        flows = stats.outflows
        rate = (sum(flows) + 1) / (len(flows) + 1)
        near = near_touch(md, side)
        return rate * stats.fill_prob() / ((near[1] if near else 0) + unrouted)

    def _at_best(
        self, child: Child, market: MarketView, ranked: list[str], tactic: Tactic
    ) -> list[str]:
        """The venues a sweep uses, in rank order: every venue with a price; for resting
        orders only those at the best price among them (a slice joining a venue's touch
        that is behind the market's waits for the market to come back, and the child
        with it: the sweep is there to fill fast)."""
        prices = {v: self._price(child, market, v, tactic)[0] for v in ranked}
        priced = [v for v in ranked if prices[v] is not None]
        if tactic is Tactic.AGGRESSIVE or self.venues[ranked[0]].kind is VenueKind.DARK:
            return priced
        buy = child.cmd.side is Side.BUY
        best = max if buy else min
        top = best((p for p in prices.values() if p is not None), default=None)
        return [v for v in priced if prices[v] == top]

    def _parallel(
        self, child: Child, market: MarketView, unrouted: int, lot: int, kind: VenueKind
    ) -> Plan:
        tactic = child.cmd.tactic if kind is VenueKind.LIT else Tactic.MIDPOINT
        if tactic is Tactic.MIDPOINT and kind is VenueKind.LIT:
            tactic = Tactic.PASSIVE
        ranked = self._rank(child, self._eligible(child, kind), tactic)
        if not ranked:
            return self._nothing(child, f"no {kind} venue up")
        priced = self._at_best(child, market, ranked, tactic)
        weights = [(v, self._liquidity(child, market, v, tactic, unrouted)) for v in priced]
        weights.sort(key=_by_weight)  # stable: ties stay in rank order
        del weights[self.config.parallel_max_venues :]
        taking = (
            tactic is Tactic.AGGRESSIVE
            and kind is VenueKind.LIT
            and child.missed_takes < self.config.max_missed_takes
        )
        timeout = None
        if not taking:
            # A child split over resting orders is as slow as its slowest slice: it rests
            # whole where it is expected to fill first, and moves on after the resting
            # timeout if it has not filled (a lit order still at its venue's touch keeps
            # its place: ``ChildRouting._keeps_its_place``).
            del weights[1:]
            timeout = self.config.sequential_timeout_ns
        sizes = self._sizes(unrouted, weights, lot, taking)
        placements = [
            p
            for v, q in sizes
            if (p := self._placement(child, market, v, q, tactic, timeout)) is not None
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
        self, unrouted: int, weights: list[tuple[str, float]], lot: int, taking: bool = False
    ) -> list[tuple[str, int]]:
        """Over-allocation (each venue up to the whole remainder, Σ ≤ factor × remainder)
        only for IOC takes: their race lasts one round trip. Resting orders are exposed
        until cancelled, and one price move fills them on every venue at once."""
        if not (self.config.overallocate and taking):
            return split(unrouted, weights, lot)
        budget = int(unrouted * self.config.overallocation_factor)
        return [(v, min(q, unrouted)) for v, q in split(budget, weights, lot)]
