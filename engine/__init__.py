"""smart-exec functional core: domain types and logic, free of the actor runtime.

Nothing in this package imports ``pykka`` or ``actors``; every module here runs and
tests without starting an actor.
"""
