"""The audit trail at a site (D3): writing entries without ever breaking what is audited
(:class:`AuditTrail`), and reading them over HTTP (:class:`AuditApi`, ``GET /v1/audit``).
Storage, the hash chain and verification live in :mod:`site_node.storage.audit`."""

from site_node.audit.api import AuditApi
from site_node.audit.trail import AUDIT_WRITE_FAILURES, AuditTrail

__all__ = ["AUDIT_WRITE_FAILURES", "AuditApi", "AuditTrail"]
