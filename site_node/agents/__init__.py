"""Agents at a site: the desk (log in, states, re-attach, wrap-up) and its HTTP API."""

from site_node.agents.desk import AgentDesk, DeskHooks
from site_node.agents.http import AgentsApi
from site_node.agents.live import LiveAgent

__all__ = ["AgentDesk", "AgentsApi", "DeskHooks", "LiveAgent"]
