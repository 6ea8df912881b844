"""The baseline and the counterfactual market, run in a worker process beside the engine.

Neither depends on the engine's run (they are the same scenario and seed without the
engine), so a forked worker runs them while the engine runs and a run takes the longer of
the two rather than their sum. Without a worker (no ``fork`` on this platform, a single
core, or other threads in the process, which a fork would copy mid-step) ``result``
runs them in-process, as before.

    with BaselineJob.start(scenario, seed) as job:
        result = run_scenario(scenario, seed)
        baseline = job.result()

Leaving the ``with`` block stops a worker still running (an interrupted run does not
wait for its baseline). The worker ignores SIGINT: Ctrl-C reaches the whole process
group, and it is the parent's to act on.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from types import TracebackType

from actors.scenario_runner import Baseline, run_baseline
from engine.scenario import Scenario


class BaselineJob:
    """One scenario and seed's ``run_baseline``, in a worker process if one can be forked."""

    def __init__(self, scenario: Scenario, seed: int) -> None:
        self.scenario = scenario
        self.seed = seed
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None

    @classmethod
    def start(cls, scenario: Scenario, seed: int) -> BaselineJob:
        job = cls(scenario, seed)
        if can_fork_worker():
            context = multiprocessing.get_context("fork")
            receiver, sender = context.Pipe(duplex=False)
            job._process = context.Process(
                target=_work, args=(sender, scenario, seed), name="baseline", daemon=True
            )
            job._process.start()
            sender.close()  # the worker's end: EOF here if the worker dies without a word
            job._conn = receiver
        return job

    @property
    def in_worker(self) -> bool:
        return self._process is not None

    def result(self) -> Baseline:
        """The baseline: the worker's (waited for), or run here if there is no worker or
        it died before answering. An exception in the worker is raised here."""
        if self._conn is None:
            return run_baseline(self.scenario, seed=self.seed)
        try:
            ok, value = self._conn.recv()
        except EOFError:  # the worker died (killed): do it here
            ok, value = True, run_baseline(self.scenario, seed=self.seed)
        finally:
            self.close()
        if not ok:
            raise value
        return value

    def close(self) -> None:
        """Stop the worker if it still runs, and release its pipe."""
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if conn is not None:
            conn.close()
        if process is not None:
            if process.is_alive():
                process.terminate()
            process.join()

    def __enter__(self) -> BaselineJob:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def can_fork_worker() -> bool:
    """A worker helps only with a spare core, and a fork is safe only from a process with
    one thread (another thread's locks would be copied held)."""
    return (
        "fork" in multiprocessing.get_all_start_methods()
        and _cores() > 1
        and threading.active_count() == 1
    )


def _cores() -> int:
    """The cores this process may run on (its affinity, where the platform says)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _work(conn: Connection, scenario: Scenario, seed: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        outcome: tuple[bool, object] = (True, run_baseline(scenario, seed=seed))
    except Exception as exc:  # the parent raises it where it asks for the result
        outcome = (False, exc)
    try:
        conn.send(outcome)
    except Exception as exc:  # an exception that does not pickle: its text does
        conn.send((False, RuntimeError(f"baseline run failed: {exc!r}")))
    conn.close()
