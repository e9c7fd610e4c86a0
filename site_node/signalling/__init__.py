"""Signalling WebSocket of a site node: protocol schemas, the CallControl interface, server."""

from site_node.signalling.control import CallControl, Session
from site_node.signalling.errors import SignallingError
from site_node.signalling.server import ALLOWED, SignallingServer

__all__ = ["ALLOWED", "CallControl", "Session", "SignallingError", "SignallingServer"]
