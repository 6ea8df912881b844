"""The allocations CSV as a live drop copy (``smart-exec serve --allocations-csv``): a row
per allocation as the engine reports it, flushed, so a post-trade system can follow the
file while the desk trades.

The file is written anew at start from the engine's audit trail, so after a restart it
holds the allocations of the whole run, including any the dead process had committed but
not yet written; the engine's reports then append, each once.
"""

from __future__ import annotations

import csv
import threading
from pathlib import Path

from actors.api import Engine, Report
from engine.fix.allocations import ALLOCATIONS_CSV_COLUMNS, allocation_row, is_allocation
from engine.messages import ExecutionReport


class AllocationsFile:
    def __init__(self, engine: Engine, path: str | Path, utc_offset_hours: int = 0) -> None:
        self.path = Path(path)
        self.rows = 0
        self._offset = utc_offset_hours
        self._lock = threading.Lock()
        self._from_trail: set[str] = set()  # exec ids written from the trail
        self._file = open(self.path, "w", newline="", encoding="utf-8")  # noqa: SIM115
        self._csv = csv.writer(self._file)
        self._csv.writerow(ALLOCATIONS_CSV_COLUMNS)
        with self._lock:  # subscribed before the trail is read: nothing falls in between
            engine.on_report(self._on_report)
            trail = engine.journal
            for msg in () if trail is None else trail.messages(ExecutionReport):
                if is_allocation(msg):
                    self._write(msg)
                    self._from_trail.add(msg.exec_id)
            self._file.flush()

    def _on_report(self, report: Report) -> None:
        if not is_allocation(report):
            return
        with self._lock:
            if self._file.closed or report.exec_id in self._from_trail:
                return
            self._write(report)
            self._file.flush()

    def _write(self, report: ExecutionReport) -> None:
        self._csv.writerow(allocation_row(report, self._offset))
        self.rows += 1

    def close(self) -> None:
        with self._lock:
            self._file.close()
