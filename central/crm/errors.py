"""Errors of the CRM (stable ids; :mod:`cluster.errors`)::

CrmError                   crm.error                    400
├── UnknownCustomer        crm.unknown_customer         404
├── InvalidPhone           crm.invalid_phone            400
├── InvalidEmail           crm.invalid_email            400
├── InvalidField           crm.invalid_field            400
├── DuplicateCustomer      crm.duplicate_customer_number 409
├── DuplicateAccount       crm.duplicate_account        409
├── WrongPin               crm.wrong_pin                403
└── BadImport              crm.bad_import               400 (the file as a whole)
"""

from __future__ import annotations

from cluster.errors import CallCenterError


class CrmError(CallCenterError):
    error_id = "crm.error"
    status = 400


class UnknownCustomer(CrmError):
    error_id = "crm.unknown_customer"
    status = 404


class InvalidPhone(CrmError):
    error_id = "crm.invalid_phone"


class InvalidEmail(CrmError):
    error_id = "crm.invalid_email"


class InvalidField(CrmError):
    error_id = "crm.invalid_field"


class DuplicateCustomer(CrmError):
    error_id = "crm.duplicate_customer_number"
    status = 409


class DuplicateAccount(CrmError):
    error_id = "crm.duplicate_account"
    status = 409


class WrongPin(CrmError):
    error_id = "crm.wrong_pin"
    status = 403


class BadImport(CrmError):
    error_id = "crm.bad_import"
