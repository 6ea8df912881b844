"""Actors driven on the simulation loop's thread, and the lock such a loop does not need."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from loguru import logger

from engine.messages import Message

if TYPE_CHECKING:
    from actors.actor import EngineActor


class InlineRef:
    """An actor driven on the simulation loop's thread, with pykka's failure semantics:
    an exception in a handler runs ``on_failure`` and the actor is dead; ``stop`` runs
    ``on_stop``. Same actor class, same handlers, same message order as on a pykka
    thread, minus the thread handoff (several times the cost of a handler), which is
    what makes a simulated day take seconds instead of minutes."""

    __slots__ = ("_deliver", "actor", "alive")

    def __init__(self, actor: EngineActor) -> None:
        self.actor = actor
        self.alive = True
        self._deliver = actor.deliver

    def start(self) -> InlineRef:
        try:
            self.actor.on_start()
        except Exception:
            self.alive = False  # EngineActor already reported it to the runtime
        except BaseException:
            self.alive = False  # as in ``tell``: the runtime halts the run
        return self

    def handle(self, msg: Message, sender: str) -> bool:
        """Deliver one message to the live actor; False if its handler raised. What
        ``tell`` does without the envelope and the runtime's handled bookkeeping: the
        simulation loop counts deliveries itself, and a call has returned when it
        returns."""
        try:
            self._deliver(msg, sender)
        except Exception as exc:  # as EngineActor.on_receive, then pykka
            self.actor.report_failure(msg, exc)
            self.alive = False
            self.actor.on_failure(*sys.exc_info())
            return False
        except BaseException as exc:
            self.actor.runtime.halted(self.actor.name, exc)
            self.alive = False
            return False
        return True

    def tell(self, message: Any) -> None:
        if not self.alive:
            import pykka

            raise pykka.ActorDeadError(f"{self.actor.name} is dead")
        try:
            self.actor.on_receive(message)
        except Exception:
            self.alive = False
            self.actor.on_failure(*sys.exc_info())
        except BaseException:
            self.alive = False  # the runtime halts the run (EngineActor reported it)

    def is_alive(self) -> bool:
        return self.alive

    def stop(self, block: bool = True) -> None:
        if self.alive:
            self.alive = False
            try:
                self.actor.on_stop()
            except Exception:  # pykka logs it and the actor is stopped all the same
                logger.exception("{} raised in on_stop; stopped anyway", self.actor.name)


class NoLock:
    """The lock of an inline simulation: the loop's thread runs every handler, so there is
    nothing to exclude. Same interface as the RLock it stands in for."""

    __slots__ = ()

    def __enter__(self) -> bool:
        return True

    def __exit__(self, *exc: object) -> None:
        return None

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return True

    def release(self) -> None:
        return None
