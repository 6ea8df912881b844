"""The desk actor: hosts ``engine.desk.desk.OrderDesk`` (intake, aggregation, netting and
allocation).

Client commands arrive from the embedded API, FIX or scenario files; execution reports
and rejects go to the ``reports`` endpoint. Each new parent gets its own parent actor,
started under the parents supervisor (transient: restarted only after a failure).

After a crash the supervisor starts it again (generation > 0) and ``started()`` rebuilds
the desk from the audit trail (``engine.desk.recovery``) before it acts, then
reconciles: parent fills and state changes the old instance never handled (dropped with
its inbox, or still in flight: a later delivery is a duplicate) are applied in the order
each parent sent them, so every fill is allocated exactly once; client commands it
journaled but never answered are answered. Parent actors are not touched: they run
under their own supervisor and keep sending to the desk's stable name.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import cast

from actors.host import HostActor
from actors.parent_actor import ParentActor
from actors.runtime import EXTERNAL, Runtime
from actors.supervisor import ChildSpec, RestartType, Supervisor
from engine.config import SessionConfig
from engine.desk.desk import DEFAULT_CONFIG, NEW_PARENT, REPORTS, DeskConfig, OrderDesk
from engine.desk.intake import Intake
from engine.desk.recovery import RECORD_TYPES, rebuild
from engine.instruments import Instrument
from engine.messages import Message, ParentOrderCreated, SubscribeMarketData
from engine.parent.order import ParentConfig

__all__ = ["REPORTS", "DeskActor"]

_RECORD_NAMES = [t.__name__ for t in RECORD_TYPES]
DEFAULT_PARENT_CONFIG = ParentConfig()


class DeskActor(HostActor):
    obj: OrderDesk

    def __init__(
        self,
        runtime: Runtime,
        name: str,
        generation: int = 0,
        *,
        instruments: Sequence[Instrument],
        session: SessionConfig,
        parents: Supervisor,
        config: DeskConfig = DEFAULT_CONFIG,
        parent_config: ParentConfig = DEFAULT_PARENT_CONFIG,
        router: str = "router",
        reports: str = REPORTS,
    ) -> None:
        super().__init__(runtime, name, generation)
        self.instruments = {i.symbol: i for i in instruments}
        self.session = session
        self.parents = parents
        self.config = config
        self.parent_config = parent_config
        self.router = router
        self.reports = reports

    def started(self) -> None:
        # a mandate without an end ends at the close: intake checks start and arrival by it
        intake = Intake(self.instruments, default_end_ns=self.session.close_ns)
        self.obj = OrderDesk(self.instruments, self.config, intake=intake, reports=self.reports)
        for symbol in self.instruments:
            self.send(self.router, SubscribeMarketData(subscriber=self.name, instrument=symbol))
        if self.generation:
            self._recover()

    def receive(self, msg: Message, sender: str) -> None:
        if sender == EXTERNAL:  # a client command: journaled where it enters the engine,
            # once it is known to fit the trail (the reject goes out instead)
            rejected = self.obj.intake.screen(msg, self.now)
            if rejected is not None:
                self.dispatch([(self.reports, rejected)])
                return
            self.journal(msg)
        super().receive(msg, sender)

    def _recover(self) -> None:
        """Rebuild from the trail, then reconcile before acting. In simulation the records
        of the wave that crashed are already in the trail: the runtime writes a wave's
        records before it lets the supervisor restart anyone."""
        records = [record.message for record in self.trail().query(types=_RECORD_NAMES)]
        recovered = rebuild(self.obj, records)
        for msg in [*recovered.inbox, *recovered.unanswered]:  # commands: journaled already
            self.dispatch(self.obj.handle(msg, self.now))
        self.dispatch([])  # the window's timer, if orders were put back in it
        self.runtime.stats["desks_recovered"] += 1

    # ------------------------------------------------------------ new parents

    def dispatch(self, out: Iterable[tuple[str, Message]]) -> None:
        # The host sends everything but a new parent: starting an actor is the shell's
        # job. Where the parent stands in the outbox, its record is journaled and the
        # parent started with it, before anything after it goes out (the host only
        # iterates its outbox once, in order: a generator puts the start in between).
        super().dispatch(self._starting_parents(out))

    def _starting_parents(
        self, out: Iterable[tuple[str, Message]]
    ) -> Iterator[tuple[str, Message]]:
        for dest, msg in out:
            if dest == NEW_PARENT:
                self._start_parent(cast(ParentOrderCreated, self.journal(msg)))
            else:
                yield dest, msg

    def _start_parent(self, order: ParentOrderCreated) -> None:
        self.parents.start_child(
            ChildSpec(
                order.parent_id,
                ParentActor,
                {
                    "order": order,
                    "instrument": self.instruments[order.instrument],
                    "session": self.session,
                    "config": self.parent_config,
                    "router": self.router,
                    "desk": self.name,
                },
                restart=RestartType.TRANSIENT,
            )
        )
