"""The business database of record (customers, contact history, work orders, notifications).

One database for every central replica: SQLite file by default (``callcenter demo`` puts it in
the run directory), PostgreSQL by URL (``business.database_url`` / ``CC_BUSINESS__DATABASE_URL``).
Sites never open it: they use central's HTTP API (:mod:`site_node.crm.client`).
Feature folders register their tables in :data:`central.business.schema.METADATA_MODULES`.
"""
