"""A run's comparison figures are computed once per run: never another run's."""

import gc

from actors.comparison import _once_per_run


class Run:
    """Stands for a ScenarioResult: the cache keys on identity, held weakly."""


def test_the_same_run_is_answered_from_the_cache_another_run_is_computed():
    calls: list[Run] = []

    @_once_per_run
    def figures(run: Run, *rest: object) -> object:
        calls.append(run)
        return object()

    first, second = Run(), Run()
    value = figures(first)
    assert figures(first) is value
    assert figures(second) is not value
    assert figures(second, first) is not figures(second)  # other arguments, other figures
    assert calls == [first, second, second, second]


def test_a_run_gone_is_never_mistaken_for_a_new_one_at_its_address():
    @_once_per_run
    def figures(run: Run) -> int:
        return len(seen)

    seen: list[int] = []
    for _ in range(50):  # new runs often reuse a freed run's address
        run = Run()
        seen.append(id(run))
        assert figures(run) == len(seen)  # not the gone run's, computed a call earlier
        del run
        gc.collect()
