import os

import pykka
import pytest
from hypothesis import settings

# One place for property-test settings. ``ci`` (the default) is derandomized, so every run
# tries the same examples and a failure reproduces; ``dev`` explores new random examples
# each run (HYPOTHESIS_PROFILE=dev). Tests set only what is their own (a larger
# max_examples for a cheap property, a health check a slow strategy needs).
settings.register_profile(
    "ci", derandomize=True, max_examples=200, deadline=None, print_blob=True, database=None
)
settings.register_profile("dev", max_examples=200, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _stop_every_actor():
    """No actor outlives its test."""
    yield
    pykka.ActorRegistry.stop_all()


@pytest.fixture(autouse=True)
def _engine_logging_off():
    """The command line turns the engine's logging on with a sink on the stderr it found
    (a test's captured stream, closed after the test): off again after every test, so a
    later test's records never go to a closed stream."""
    yield
    from actors import logs

    logs.reset()
