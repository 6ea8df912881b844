"""Benchmarks of the functional core. Each module exposes ``run(quick: bool) -> dict`` of
metric name → value; ``smart-exec bench`` merges them into one JSON object."""
