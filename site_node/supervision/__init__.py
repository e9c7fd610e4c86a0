"""The supervisor console's data at a site: who is doing what, live (issue 19, point 1).

``view.console_view`` is pure (agents, calls and queues in; the JSON a supervisor may see out);
``api.SupervisionApi`` serves it (a snapshot and an SSE stream) and the supervisor's actions
(force not ready, a message to an agent's desktop). Taps go through the signalling socket.
"""

from site_node.supervision.api import SupervisionApi
from site_node.supervision.view import console_view

__all__ = ["SupervisionApi", "console_view"]
