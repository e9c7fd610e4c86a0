"""Queue statistics on the agent desktop (issue 18, defect 7).

:func:`desk_figures` (pure) derives what one agent sees from the ACD's snapshot and the agent's
own transitions; :class:`DeskStatsPush` pushes it as a ``desk_stats`` event on the agent's
signalling channel whenever it changes. Wired once, in :mod:`site_node.runtime.service`.
"""

from site_node.deskstats.figures import day_start, desk_figures, handled_calls
from site_node.deskstats.push import DeskStatsPush

__all__ = ["DeskStatsPush", "day_start", "desk_figures", "handled_calls"]
