"""Errors of the agent state machine.

::

    CallCenterError
    └── AgentError                 agent.error
        ├── IllegalAgentTransition agent.illegal_transition  (event not allowed in this state)
        ├── AgentEventInvalid      agent.invalid_event       (wrong call id, empty reason, ...)
        ├── AgentCapacityExceeded  agent.capacity_exceeded   (more interactions than capacity)
        └── AgentTimerNotDue       agent.timer_not_due       (timer event before its deadline)
"""

from __future__ import annotations

from cluster.errors import CallCenterError


class AgentError(CallCenterError):
    error_id = "agent.error"
    status = 409


class IllegalAgentTransition(AgentError):
    error_id = "agent.illegal_transition"
    status = 409


class AgentEventInvalid(AgentError):
    error_id = "agent.invalid_event"
    status = 400


class AgentCapacityExceeded(AgentError):
    error_id = "agent.capacity_exceeded"
    status = 409


class AgentTimerNotDue(AgentError):
    error_id = "agent.timer_not_due"
    status = 409
