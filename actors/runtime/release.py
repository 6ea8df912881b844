"""Live: messages for in-process callbacks, held until the audit trail commits.

Where a message is held decides who releases it. An actor's thread releases what it
held when its handler returns and nothing more is queued for it (so a callback runs on
the sending actor's thread, as a direct delivery would, one commit later, with no thread
handoff; a burst queued for the actor is one commit, see ``LiveRuntime.handled``). Anything held on
another thread (the scheduler's, an application's) wakes the releaser thread.

A release takes everything held, in order, under the runtime's lock: a host sends and
journals a message as one step under that lock (``Runtime.send_journaled``), so each
message taken has its record appended, and the commit that follows covers it. Releases
are one at a time: each callback gets its messages in the order they were held.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from actors.logs import log_failure
from engine.messages import Message

if TYPE_CHECKING:
    from actors.runtime.base import Callback, Runtime

_RETRY_COMMIT_S = 1.0  # a trail that failed to commit is tried again after this

Held = list[tuple["Callback", Message, str]]


class Releaser:
    """The held messages of one live runtime and the thread that releases the ones no
    actor thread will (see the module docstring)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.held: Held = []
        self.ready = threading.Condition(threading.Lock())
        self._one_at_a_time = threading.Lock()
        self._actor_thread = threading.local()
        self._running = True
        self._thread = threading.Thread(target=self._loop, name="smart-exec-release", daemon=True)
        self._thread.start()

    def actor_thread(self) -> None:
        """The calling thread is an actor's: it releases what it holds itself."""
        self._actor_thread.is_actor = True

    def hold(self, callback: Callback, msg: Message, sender: str) -> None:
        with self.ready:
            self.held.append((callback, msg, sender))
            if not getattr(self._actor_thread, "is_actor", False):
                self.ready.notify()

    def requeue(self, held: Held) -> None:
        with self.ready:
            self.held[:0] = held

    def wake(self) -> None:
        """Have the releaser thread release what is held (an actor failed mid-handler)."""
        with self.ready:
            self.ready.notify()

    def release(self) -> bool:
        """Commit, then hand over everything held (and what is held meanwhile); False if
        the commit failed: nothing is handed over, everything stays held. While another
        thread releases, this one returns at once: that thread looks again before it
        stops, so it takes what this one held."""
        while self.held:
            if not self._one_at_a_time.acquire(blocking=False):
                return True
            try:
                if not self._release_all():
                    if threading.current_thread() is not self._thread:
                        self.wake()  # the releaser thread retries, after a pause
                    return False
            finally:
                self._one_at_a_time.release()
        return True

    def _release_all(self) -> bool:
        runtime = self.runtime
        while self.held:
            with runtime._lock, self.ready:  # no send_journaled half-way
                held, self.held = self.held, []
            try:
                runtime._commit(held)
            except Exception as exc:
                log_failure("CRITICAL", "the audit trail cannot commit; reports held", exc=exc)
                return False
            try:
                runtime._hand_over(held)
            except Exception as exc:  # a callback's bug: the others still get theirs
                log_failure("ERROR", "a message callback raised; the rest go on", exc=exc)
        return True

    def _loop(self) -> None:
        self.runtime.pin_thread()
        ready = self.ready
        while True:
            with ready:
                while self._running and not self.held:
                    ready.wait()
                if not self.held:
                    return
            if not self.release():
                with ready:
                    ready.wait(_RETRY_COMMIT_S)

    def shutdown(self) -> None:
        """Release what is still held, then stop the thread."""
        with self.ready:
            self._running = False
            self.ready.notify()
        self._thread.join(timeout=5)
