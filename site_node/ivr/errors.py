"""Errors of the IVR.

::

    CallCenterError
    └── IvrError               ivr.error
        ├── InvalidFlow        ivr.invalid_flow        (names the flow and the node id)
        ├── UnknownFlow        ivr.unknown_flow        (no such flow / version / route)
        ├── UnexpectedEvent    ivr.unexpected_event    (event that the current node cannot take)
        └── FlowLoop           ivr.loop                (too many steps without waiting)
"""

from __future__ import annotations

from cluster.errors import CallCenterError


class IvrError(CallCenterError):
    error_id = "ivr.error"
    status = 409


class InvalidFlow(IvrError):
    error_id = "ivr.invalid_flow"
    status = 400

    def __init__(self, flow_id: str, node_id: str | None, problem: str) -> None:
        where = f"flow {flow_id!r}" + (f" node {node_id!r}" if node_id is not None else "")
        super().__init__(f"{where}: {problem}", flow_id=flow_id, node_id=node_id)
        self.flow_id = flow_id
        self.node_id = node_id


class UnknownFlow(IvrError):
    error_id = "ivr.unknown_flow"
    status = 404


class UnexpectedEvent(IvrError):
    error_id = "ivr.unexpected_event"
    status = 409


class FlowLoop(IvrError):
    error_id = "ivr.loop"
    status = 500
