"""Errors of the supervisor console's API."""

from __future__ import annotations

from cluster.errors import CallCenterError


class NotYourTeam(CallCenterError):
    error_id = "supervision.not_your_team"
    status = 403


class AgentNotHere(CallCenterError):
    error_id = "supervision.agent_not_here"
    status = 404


class BadSupervisorRequest(CallCenterError):
    error_id = "supervision.bad_request"
    status = 400
