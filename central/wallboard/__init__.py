"""Live wallboard at central (M3): queues, waits, agents and service level of every site.

One wiring point, :func:`install`, adds the routes to a central replica's app; the data is a
pure function of the replica's hot copy of the sites (:func:`build_snapshot`).
"""

from central.wallboard.api import install
from central.wallboard.snapshot import build_snapshot

__all__ = ["build_snapshot", "install"]
