"""Who may do what: the roles of the people who use the center and the permission of each
action, in one place. Every HTTP endpoint and WebSocket command that needs more than "an
agent at work" asks :func:`require` (A3; after Amazon Connect's security profiles).

    agent        takes calls: state, answer, hold, consult, transfer, wrap-up; reads customers (audited)
                   and adds to their contact history; creates and works work orders; works outbound
                   campaigns; reads the knowledge base and says whether an article helped; runs SOPs;
                   reads their own QA evaluations and acknowledges or disputes them
    team_leader  + creates, edits, merges customers, resets PINs; runs campaigns and the do-not-call list;
                 supervises the agents of their own team (listen, whisper, barge); reads call records
                   and the site's live status; lifts PIN and login lockouts; searches and plays recordings and
                   voicemail (audited); sets up work-order departments; drafts knowledge articles;
                   publishes SOP definitions; scores calls (QA)
    manager      + supervises anyone at the center; publishes IVR flows; approves and publishes knowledge;
                   reads the integration event stream; places and lifts legal holds on recordings;
                   publishes QA scorecard forms
    admin        + everything a manager may; reads the audit trail; imports and exports customers
                 (every call role, and sites for self-service, resolves back-office resource fields)
                 configures agents' skills, queues and the not-ready / wrap-up codes (admin.configure);
                 subscribes webhooks to the event stream
    compliance   reads the audit trail (and nothing else: takes no calls, supervises no one)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cluster.errors import CallCenterError

CALL_ROLES = ("agent", "team_leader", "manager", "admin")
ROLES = (*CALL_ROLES, "compliance")

PERMISSIONS: Mapping[str, frozenset[str]] = {
    "calls.handle": frozenset(CALL_ROLES),
    "calls.supervise_team": frozenset({"team_leader", "manager", "admin"}),
    "calls.supervise_any": frozenset({"manager", "admin"}),
    "records.read": frozenset({"team_leader", "manager", "admin"}),
    "flows.publish": frozenset({"manager", "admin"}),
    "lockouts.unlock": frozenset({"team_leader", "manager", "admin"}),
    "status.read": frozenset({"team_leader", "manager", "admin"}),
    "audit.read": frozenset({"admin", "compliance"}),
    "recordings.play": frozenset({"team_leader", "manager", "admin"}),
    "recordings.search": frozenset({"team_leader", "manager", "admin"}),  # find recordings with their CDR
    "recordings.hold": frozenset({"manager", "admin"}),  # legal hold: kept past the queue's retention
    "customers.read": frozenset(CALL_ROLES),  # screen pop, search, PIN check (audited views)
    "customers.history": frozenset(CALL_ROLES),  # a call's entry in the contact history
    "customers.write": frozenset({"team_leader", "manager", "admin"}),  # create, edit, merge, PIN reset
    "customers.import": frozenset({"admin"}),
    "admin.configure": frozenset({"admin"}),  # agents' skills / team / active, queues, codes (issue 19)
    "customers.export": frozenset({"admin"}),
    "workorders.handle": frozenset(CALL_ROLES),  # create, read, work and comment on work orders
    "workorders.manage": frozenset({"team_leader", "manager", "admin"}),  # set up departments
    "campaigns.work": frozenset(CALL_ROLES),  # preview a campaign's next contact, record its outcome
    "campaigns.manage": frozenset({"team_leader", "manager", "admin"}),  # lists, start / pause, do-not-call
    "resources.resolve": frozenset(CALL_ROLES),  # back-office fields (issue 20); sites as site:<name> agents
    "knowledge.read": frozenset(CALL_ROLES),  # search and read published articles, give feedback (issue 22)
    "knowledge.edit": frozenset({"team_leader", "manager", "admin"}),  # draft, edit, submit for review
    "knowledge.approve": frozenset({"manager", "admin"}),  # approve or reject another's draft, publish
    "sop.run": frozenset(CALL_ROLES),  # start an SOP, submit its forms, roll back, cancel (issue 22)
    "sop.edit": frozenset({"team_leader", "manager", "admin"}),  # publish SOP definition versions
    "events.read": frozenset({"manager", "admin"}),  # the integration event stream (issue 23, D4)
    "events.subscribe": frozenset({"admin"}),  # webhook subscriptions: URLs and their signing secrets
    "qa.own": frozenset(CALL_ROLES),  # read one's own QA evaluations, acknowledge or dispute them (issue 19)
    "qa.evaluate": frozenset({"team_leader", "manager", "admin"}),  # score calls, results, calibration
    "qa.manage": frozenset({"manager", "admin"}),  # publish scorecard form versions
}
"""Action -> the roles allowed to do it."""


class Forbidden(CallCenterError):
    error_id = "role.forbidden"
    status = 403


def allowed(role: str | None, action: str) -> bool:
    return role in PERMISSIONS[action]


def require(claims_extra: Mapping[str, Any], action: str, why: str) -> str:
    """The caller's role if it may do ``action``; else :class:`Forbidden` saying ``why``."""
    role = claims_extra.get("role")
    if not allowed(role if isinstance(role, str) else None, action):
        raise Forbidden(f"{why} (your role: {role or 'none'})", action=action)
    return str(role)


def may_supervise(supervisor: Mapping[str, Any], agent_team: str | None) -> bool:
    """Managers and administrators supervise anyone; a team leader only their own team."""
    role = supervisor.get("role")
    role = role if isinstance(role, str) else None
    if allowed(role, "calls.supervise_any"):
        return True
    return allowed(role, "calls.supervise_team") and agent_team is not None and supervisor.get("team") == agent_team
