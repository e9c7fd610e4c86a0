"""The event tests' fixtures: a real webhook receiver."""

from tests.events.receiver import receiver  # noqa: F401
