"""The customer API's part of central's OpenAPI document (issue 17)."""

from __future__ import annotations

from cluster.openapi import TOKEN_ERRORS, ApiDoc

_BASE = {**TOKEN_ERRORS, "role.forbidden": 403, "request.bad_field": 400, "crm.invalid_field": 400}
_ONE = {**_BASE, "crm.unknown_customer": 404}
_WRITE = {**_ONE, "crm.invalid_phone": 400, "crm.invalid_email": 400, "crm.duplicate_account": 409}

_OPERATIONS: tuple[tuple[str, str, str, dict[str, int]], ...] = (
    ("get", "/v1/customers", "search customers (q: name, partial and accent-insensitive; phone; customer "
     "number; account last four; segment; limit, cursor); every search is audited", _BASE),
    ("post", "/v1/customers", "create a customer (team leaders and up)",
     {**_WRITE, "crm.duplicate_customer_number": 409}),
    ("get", "/v1/customers/lookup", "the call-time look-up by caller number, customer number or account",
     _BASE),
    ("get", "/v1/customers/export", "a filtered list as CSV (administrators only; audited)", _BASE),
    ("post", "/v1/customers/import", "CSV or XLSX import: validation report (row, column, reason), dry_run, "
     "idempotent upsert by customer number (administrators only)",
     {**_BASE, "crm.bad_import": 400, "crm.unknown_column": 400, "crm.malformed_row": 400}),
    ("get", "/v1/customers/{number}", "one customer (accounts masked; audited)", _ONE),
    ("patch", "/v1/customers/{number}", "edit a customer (team leaders and up)", _WRITE),
    ("post", "/v1/customers/{number}/deactivate", "deactivate a customer", _ONE),
    ("post", "/v1/customers/{number}/merge", "merge a duplicate into this customer (history moves)", _WRITE),
    ("post", "/v1/customers/{number}/accounts", "add an account (stored masked plus a keyed hash)", _WRITE),
    ("put", "/v1/customers/{number}/pin", "set or reset the PIN (authorised roles)", _ONE),
    ("post", "/v1/customers/{number}/pin/change", "change the PIN with the old one verified",
     {**_ONE, "crm.wrong_pin": 403}),
    ("post", "/v1/customers/{number}/pin/verify", "verify a PIN", {**_ONE, "crm.wrong_pin": 403}),
    ("get", "/v1/customers/{number}/history", "the contact history across every site, newest first (cursor)",
     _ONE),
    ("post", "/v1/customers/{number}/history", "append a contact-history entry (sites, at call end)", _ONE),
)


def describe_customers(doc: ApiDoc) -> None:
    for method, path, summary, errors in _OPERATIONS:
        doc.op(method, path, summary, errors=errors)
