"""Start a live engine again on the audit trail of a run whose process died (``kill -9``,
a crash, a power cut), with its client orders still working: ``Engine.restart(trail)``.

Every actor that holds order state is event-sourced from the trail already (the desk:
``engine.desk.recovery``, each parent: ``engine.parent.recovery``, the router:
``engine.routing.recovery``), for a restart under its supervisor. A restarted process
starts them all that way at once, on the trail the dead one wrote, and appends to it:

- the desk rebuilds every client order (quantities, notional, status, mandate) and its
  parents; the parents still working (no terminal state in the trail) are started again
  and rebuild their children and schedules;
- the venues are simulated in-process, so they died with it and start empty. The router
  finds the venue orders its trail still shows live and reconciles them by cancel; the
  new venues know none of them, so their shares are counted unaccounted (in the trail)
  and each child's remainder is routed again. What had filled stays filled; what had not
  is worked again from now on.

The restarted actors send to each other while they recover (a parent forwards a fill to
the desk, the router a child's done to its parent): their mail is held from before the
first of them starts until each is running, as for any actor that is starting.

Message ids go on after the trail's: the new process's actors take ids above every id it
holds (the router and the parents recognise a redelivery by message id), and the
external sender's sequence continues after its own.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from actors.parent_actor import ParentActor
from actors.runtime import EXTERNAL, Runtime
from actors.runtime.endpoint import SEQ_BITS
from actors.supervisor import ChildSpec, RestartType, Supervisor
from engine.audit.trail import AuditTrail
from engine.messages import Message, ParentOrderCreated, ParentState, ParentStateChanged
from engine.parent.config import ParentConfig

if TYPE_CHECKING:
    from actors.api import MarketConfig

Names = tuple[str, str]  # the router's and the desk's

_SEQ_MASK = (1 << SEQ_BITS) - 1
_TERMINAL = (ParentState.COMPLETED, ParentState.CANCELED, ParentState.EXPIRED)


class Restart:
    """What the trail says a restarted engine must start again (``Engine.restart``)."""

    def __init__(self, trail: AuditTrail) -> None:
        self.top_actor_id = 0
        self.seqs: dict[int, int] = {}  # actor id → the last message seq it used
        created: dict[str, ParentOrderCreated] = {}
        ended: set[str] = set()
        for msg in trail.replay():
            self._saw(msg)
            if isinstance(msg, ParentOrderCreated):
                created[msg.parent_id] = msg
            elif isinstance(msg, ParentStateChanged) and msg.state in _TERMINAL:
                ended.add(msg.parent_id)
        self.parents = [p for pid, p in created.items() if pid not in ended]

    def _saw(self, msg: Message) -> None:
        actor_id, seq = msg.msg_id >> SEQ_BITS, msg.msg_id & _SEQ_MASK
        self.top_actor_id = max(self.top_actor_id, actor_id)
        if seq > self.seqs.get(actor_id, 0):
            self.seqs[actor_id] = seq

    def continue_ids(self, runtime: Runtime) -> None:
        """Before any actor starts: new actors take ids above the trail's; the external
        sender (the API's commands) goes on after its last seq."""
        external = runtime.endpoint(EXTERNAL)
        external.seq = itertools.count(self.seqs.get(external.actor_id, 0) + 1)
        runtime._next_actor_id = max(runtime._next_actor_id, self.top_actor_id + 1)

    def hold_mail(self, runtime: Runtime, names: Iterable[str]) -> None:
        """Hold what is sent to ``names`` until each is started (``Runtime.spawn``)."""
        with runtime._lock:
            for name in names:
                endpoint = runtime.endpoint(name)
                if endpoint.held is None:
                    endpoint.held = []

    def start_parents(
        self, parents: Supervisor, market: MarketConfig, config: ParentConfig, names: Names
    ) -> None:
        """The parents still working, each rebuilt from the trail (generation 1)."""
        router, desk = names
        for order in self.parents:
            parents.generations[order.parent_id] = 1
            kwargs: dict[str, Any] = {
                "order": order,
                "instrument": market.instrument,
                "session": market.session,
                "config": config,
                "router": router,
                "desk": desk,
            }
            parents.start_child(
                ChildSpec(order.parent_id, ParentActor, kwargs, restart=RestartType.TRANSIENT)
            )
