"""Security at a site: PIN and login lockouts shared cluster-wide, their unlock API, logout
revocation. Wired by :mod:`site_node.runtime.service`."""

from site_node.security.api import LockoutsApi
from site_node.security.checks import LoginChecks, PinChecks, Verification

__all__ = ["LockoutsApi", "LoginChecks", "PinChecks", "Verification"]
