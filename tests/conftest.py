import pykka
import pytest


@pytest.fixture(autouse=True)
def _stop_every_actor():
    """No actor outlives its test."""
    yield
    pykka.ActorRegistry.stop_all()
