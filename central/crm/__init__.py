"""Customers and their contact history (issue 17 points 1-3): the business API ``/v1/customers``.

Files: ``models`` (tables), ``normalise`` (pure: phones, search keys), ``errors``, ``store``
(SQL), ``service`` (rules: PIN, merge, audit), ``importer`` (CSV/XLSX), ``api`` (HTTP, the one
wiring point :func:`central.crm.api.install`).
"""
