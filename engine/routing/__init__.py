"""Smart order routing: the ``Router`` state machine, its planner and scorecard, and the
``RouterNode`` its actor hosts (see ``docs/routing.md`` for the layout)."""
