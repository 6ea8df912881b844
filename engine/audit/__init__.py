"""The audit trail: every message, in order; the source of truth for recovery and TCA.

``AuditTrail`` is the interface; ``Journal`` the durable SQLite implementation,
``MemoryTrail`` the in-memory one. See ``docs/audit.md``.
"""

from engine.audit.journal import Journal, ReplayMismatch, TrailDamaged
from engine.audit.memory import MemoryTrail
from engine.audit.record import MESSAGE_TYPES, Record, index_columns
from engine.audit.trail import AuditTrail

__all__ = [
    "MESSAGE_TYPES",
    "AuditTrail",
    "Journal",
    "MemoryTrail",
    "Record",
    "ReplayMismatch",
    "TrailDamaged",
    "index_columns",
]
