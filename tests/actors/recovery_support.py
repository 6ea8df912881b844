"""What the crash-and-restart tests of the desk, parent and router share: one small
market, an engine factory that starts a faulty actor class in place of the real one, and
the checks each of them makes (a restart leaves the run deterministic; a persistent fault
exceeds the restart intensity and escalates)."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest

from actors.api import Engine, MarketConfig
from actors.runtime import RuntimeHalted
from engine.clock import MINUTE
from engine.config import SessionConfig, VenueConfig
from engine.instruments import Instrument
from engine.messages import (
    ActorFailed,
    ActorRestarted,
    ClientOrder,
    Mandate,
    Side,
    SupervisorEscalated,
    VenueKind,
)
from engine.prices import to_price

SESSION = SessionConfig()
START = SESSION.open_ns + 1 * MINUTE
END = START + 10 * MINUTE
RUN_UNTIL = END + 5 * MINUTE
CLIENTS = {"c1": 3_000, "c2": 2_000}


def market(*lit: str) -> MarketConfig:
    """XYZ at $100 on the given lit venues and one dark pool."""
    venues = [VenueConfig(name=name) for name in lit]
    venues.append(VenueConfig(name="DARK1", kind=VenueKind.DARK))
    return MarketConfig(
        instrument=Instrument(symbol="XYZ", ref_price=to_price("100")),
        venues=venues,
        session=SESSION,
    )


def buy(client_order_id: str, quantity: int, mandate: Mandate) -> ClientOrder:
    return ClientOrder(
        source="OMS",
        account="A",
        client_order_id=client_order_id,
        instrument="XYZ",
        side=Side.BUY,
        quantity=quantity,
        mandate=mandate,
    )


def journal_of(engine: Engine, cls) -> list:
    return list(engine.journal.messages(cls))


class EngineFactory:
    """Engines (seed 11) with ``module.attr`` patched to a test actor class, each given the
    clients' buys at the open and then ``prepare``; ``close`` closes every one built."""

    def __init__(
        self,
        monkeypatch: pytest.MonkeyPatch,
        module: ModuleType,
        attr: str,
        lit: tuple[str, ...],
        mandate: Mandate,
        prepare: Callable[[Engine], None] = lambda engine: None,
    ) -> None:
        self.monkeypatch, self.module, self.attr = monkeypatch, module, attr
        self.market, self.mandate, self.prepare = market(*lit), mandate, prepare
        self.engines: list[Engine] = []

    def __call__(self, actor_class: type, **kwargs) -> Engine:
        self.monkeypatch.setattr(self.module, self.attr, actor_class)
        engine = Engine(self.market, seed=11, **kwargs)
        self.engines.append(engine)
        for cid, qty in CLIENTS.items():
            engine.submit(buy(cid, qty, self.mandate), at_ns=SESSION.open_ns)
        self.prepare(engine)
        return engine

    def close(self) -> None:
        for engine in self.engines:
            engine.close()


def assert_restart_is_deterministic(build: EngineFactory, actor_class: type) -> None:
    """Two runs with the same crash write the same audit trail."""
    digests = []
    for _ in range(2):
        engine = build(actor_class)
        engine.run_until(RUN_UNTIL)
        digests.append(engine.journal.digest())
    assert digests[0] == digests[1]


def run_to_escalation(build: EngineFactory, actor_class: type) -> Engine:
    """A fault on every message: two restarts allowed in 30 minutes, the third failure
    escalates and halts the run."""
    engine = build(actor_class, max_restarts=2, restart_window_ns=30 * MINUTE)
    with pytest.raises(RuntimeHalted, match="escalated"):
        engine.run_until(RUN_UNTIL)
    return engine


def assert_escalated_by_the_engine(engine: Engine, name: str) -> None:
    """``name``, supervised by the engine itself: failed 3 times, restarted twice, and the
    engine supervisor escalated once."""
    assert [m.name for m in journal_of(engine, ActorFailed)].count(name) == 3
    assert [m.name for m in journal_of(engine, ActorRestarted)].count(name) == 2
    assert [m.name for m in journal_of(engine, SupervisorEscalated)] == ["engine"]
    assert engine.supervisor.failures[name] == 3
    assert engine.runtime.stats["escalations"] == 1
