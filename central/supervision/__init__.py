"""The supervisor console's view of the whole center at central (issue 19, point 2).

``merge.merge_snapshots`` is pure (each site's snapshot in, one view out);
``api.CenterSnapshotApi`` asks every live site (or the one named) for its snapshot with the
supervisor's own token, so each site applies the same team rules it applies at home.
"""

from central.supervision.api import CenterSnapshotApi
from central.supervision.merge import merge_snapshots

__all__ = ["CenterSnapshotApi", "merge_snapshots"]
