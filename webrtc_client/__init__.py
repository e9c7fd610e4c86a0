"""Clients: the agent desktop and customer pages (served by sites) and the Python client."""

from webrtc_client.client import AgentClient, ClientError, CustomerClient, Signalling

__all__ = ["AgentClient", "ClientError", "CustomerClient", "Signalling"]
