"""The router actor: hosts ``engine.routing.node.RouterNode`` (the router between parents
and venues, with its market data relay, scorecard saves and recovery).

After a crash the supervisor starts it again (generation > 0) and ``started()`` rebuilds
the node from the audit trail before it acts (``RouterNode.recover``): its children, their
venue orders and every event the venues sent about them, its market data subscribers,
and the scorecard (the last ``ScorecardSaved``, with the trail after it replayed on top).
Fills the old instance never reported go to the parents now; venue orders that may still
be live are cancelled and the remainder routed (see ``engine.routing.recovery``).

The scorecard is saved on a timer of its own, beside the host's wake timer: one timer
for both would be armed at other moments than two, and every arming takes a number from
the router's message-id sequence, so every later message id would move.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from actors.book_actor import book_name
from actors.host import HostActor
from actors.runtime import Runtime
from engine.audit.trail import AuditTrail
from engine.clock import MINUTE, SECOND
from engine.config import VenueConfig
from engine.instruments import Instrument
from engine.messages import Message
from engine.routing.config import DEFAULT_CONFIG, RouterConfig
from engine.routing.node import RouterNode
from engine.routing.persistence import ScorecardSource, restore_scorecard

__all__ = ["RouterActor", "ScorecardSource"]

SAVE = "scorecard"


class RouterActor(HostActor):
    obj: RouterNode

    def __init__(
        self,
        runtime: Runtime,
        name: str,
        generation: int = 0,
        *,
        venues: Sequence[VenueConfig],
        instrument: Instrument | None = None,
        instruments: Sequence[Instrument] = (),
        books: bool = False,
        config: RouterConfig = DEFAULT_CONFIG,
        relay_interval_ns: int = 5 * SECOND,
        scorecard: ScorecardSource = None,
        scorecard_interval_ns: int = MINUTE,
    ) -> None:
        super().__init__(runtime, name, generation)
        self.venue_configs = list(venues)
        self.instruments = [instrument] if instrument is not None else list(instruments)
        # many instruments: each venue is a book actor per instrument ("venue:SYMBOL"),
        # and what the router sends a venue goes to the book of the order's instrument
        self.books = books
        self._venue_names = {v.name for v in venues}
        self._symbol_of: dict[str, str] = {}  # venue order id → its instrument
        self.config = config
        self.relay_interval_ns = relay_interval_ns
        self.initial_scorecard = scorecard
        self.scorecard_interval_ns = scorecard_interval_ns

    def started(self) -> None:
        scorecard, saved = restore_scorecard(
            self._trail_if_any(),
            self.name,
            restarted=self.generation > 0,
            initial=self.initial_scorecard,
        )
        node = self.obj = RouterNode(
            name=self.name,
            venues=self.venue_configs,
            instruments=self.instruments,
            config=self.config,
            scorecard=scorecard,
            restored_from=saved,
            relay_interval_ns=self.relay_interval_ns,
            save_interval_ns=self.scorecard_interval_ns,
        )
        self._arm_save()
        self.dispatch(node.subscriptions())
        if self.generation:
            self.dispatch(node.recover(self.trail(), self.now))
            self.runtime.stats["routers_recovered"] += 1

    def dispatch(self, out: Iterable[tuple[str, Message]]) -> None:
        if self.books:
            out = [(self._book_of(dest, msg), msg) for dest, msg in out]
        super().dispatch(out)

    def _book_of(self, dest: str, msg: Message) -> str:
        """The actor a message for ``dest`` goes to: a venue's book of the instrument the
        message names, or of the venue order it is about."""
        if dest not in self._venue_names:
            return dest
        symbol = getattr(msg, "instrument", None)
        order_id = getattr(msg, "order_id", None)
        if symbol is not None:
            if order_id is not None:
                self._symbol_of[order_id] = symbol
        elif order_id is not None:
            symbol = self._symbol_of.get(order_id) or self._recovered_symbol(order_id)
        return dest if symbol is None else book_name(dest, symbol)

    def _recovered_symbol(self, order_id: str) -> str | None:
        """After a restart, the instrument of a venue order placed by the old instance:
        its child's, which recovery rebuilt."""
        found = self.obj.router.child_of(order_id)
        return None if found is None else found.cmd.instrument

    def on_timer(self, key: str) -> None:
        if key == SAVE:
            self.journal(self.obj.saved("periodic"))
            self._arm_save()
        else:
            super().on_timer(key)

    def on_stop(self) -> None:
        """A normal stop (not a failure: pykka skips ``on_stop`` then) saves the scorecard.
        Written straight to the trail: at the engine's close no simulation wave follows
        to flush the runtime's per-wave journal buffer."""
        node: RouterNode | None = getattr(self, "obj", None)  # None if ``started`` never ran
        trail = self._trail_if_any()
        if trail is not None and node is not None:
            trail.append(self.runtime.stamp(self.name, node.saved("stop")))

    @property
    def subscribers(self) -> list[str]:
        """The actors the router relays market data to."""
        return self.obj.relay.subscribers

    def _arm_save(self) -> None:
        at = self.obj.next_save_ns(self.now)
        if at is not None:
            self.set_timer(SAVE, at)

    def _trail_if_any(self) -> AuditTrail | None:
        """The audit trail, or None in a run without one (nothing to restore from)."""
        return None if self.runtime.journal_sink is None else self.trail()
