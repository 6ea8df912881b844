"""The parent order actor: one per parent, hosting ``engine.parent.hosted.HostedParent``.

It subscribes to the router's market data relay, then hosts the parent: fresh on a first
start, rebuilt from the audit trail (``HostedParent.recover``) after a crash, when the
supervisor starts it again (generation > 0). Everything else is ``HostActor``'s.
"""

from __future__ import annotations

from actors.host import HostActor
from actors.runtime import Runtime
from engine.config import SessionConfig
from engine.instruments import Instrument
from engine.messages import ParentOrderCreated, SubscribeMarketData
from engine.parent.config import ParentConfig
from engine.parent.hosted import HostedParent
from engine.parent.order import ParentOrder

_DEFAULT_CONFIG = ParentConfig()


class ParentActor(HostActor):
    obj: HostedParent

    def __init__(
        self,
        runtime: Runtime,
        name: str,
        generation: int = 0,
        *,
        order: ParentOrderCreated,
        instrument: Instrument,
        session: SessionConfig,
        config: ParentConfig = _DEFAULT_CONFIG,
        router: str = "router",
        desk: str = "desk",
    ) -> None:
        super().__init__(runtime, name, generation)
        self.order = order
        self.instrument = instrument
        self.session = session
        self.config = config
        self.router = router
        self.desk = desk

    def started(self) -> None:
        # the market first (a feed message: sent, not journaled), then the parent's own
        subscribe = SubscribeMarketData(subscriber=self.name, instrument=self.instrument.symbol)
        parent = ParentOrder(self.order, self.instrument, self.session, self.config)
        if self.generation == 0:
            self.obj = HostedParent(parent, router=self.router, desk=self.desk)
            out = self.obj.start(self.now)
        else:
            self.obj, out = HostedParent.recover(
                parent, self.trail(), self.now, router=self.router, desk=self.desk
            )
            self.runtime.stats["parents_recovered"] += 1
        self.dispatch([(self.router, subscribe), *out])
