"""Customer look-ups: caller number, customer number, account number (through its hash)."""

from __future__ import annotations

import pytest

from site_node.storage import NotFound, Storage
from site_node.storage.customers import NewCustomer
from site_node.storage.hashing import account_number_hash

ACCOUNT = "5200 1234 5678 9012"


async def _alice(storage: Storage) -> None:
    await storage.customers.save_customer(
        NewCustomer(
            id="cust-1",
            customer_number="10000001",
            name="Alice Weber",
            segment="vip",
            home_site="branch-north",
            language="de",
            phones=("+49 170 1234567", "+49-30-7654321"),
        )
    )
    await storage.customers.add_account("cust-1", ACCOUNT, kind="checking")
    await storage.customers.add_account("cust-1", "4000-0000-0000-0002", kind="credit_card")


async def test_lookup_by_caller_number_normalises_it(storage: Storage) -> None:
    await _alice(storage)

    found = await storage.customers.by_caller_number("0049 170 123 4567")

    assert found is not None
    assert (found.id, found.segment, found.is_vip, found.home_site) == (
        "cust-1", "vip", True, "branch-north",
    )  # fmt: skip
    assert found.phones == ("+491701234567", "+49307654321")
    assert [a.masked_number for a in found.accounts] == ["**** **** 9012", "**** **** 0002"]
    assert await storage.customers.by_caller_number("+49999") is None


async def test_lookup_by_customer_number_and_id(storage: Storage) -> None:
    await _alice(storage)

    by_number = await storage.customers.by_customer_number("10000001")
    by_id = await storage.customers.by_id("cust-1")

    assert by_number is not None and by_number == by_id
    assert await storage.customers.by_customer_number("99") is None


async def test_lookup_by_full_account_number_uses_the_hash(storage: Storage) -> None:
    await _alice(storage)

    found = await storage.customers.by_account_number("5200123456789012")

    assert found is not None and found.id == "cust-1"
    assert await storage.customers.by_account_number("5200123456789013") is None


async def test_a_shared_phone_number_is_not_one_customer(storage: Storage) -> None:
    await _alice(storage)
    await storage.customers.save_customer(
        NewCustomer(id="cust-2", customer_number="10000002", name="Bob Weber",
                    phones=("+491701234567",))
    )  # fmt: skip

    assert await storage.customers.by_caller_number("+491701234567") is None
    both = await storage.customers.all_by_caller_number("+491701234567")
    assert [c.id for c in both] == ["cust-1", "cust-2"]
    assert [c.id for c in await storage.customers.search("weber")] == ["cust-1", "cust-2"]


async def test_saving_again_replaces_phones(storage: Storage) -> None:
    await _alice(storage)
    await storage.customers.save_customer(
        NewCustomer(id="cust-1", customer_number="10000001", name="Alice Weber-Lang",
                    segment="retail", phones=("+491709999999",))
    )  # fmt: skip

    found = await storage.customers.by_id("cust-1")
    assert found is not None
    assert (found.name, found.segment, found.phones) == ("Alice Weber-Lang", "retail",
                                                         ("+491709999999",))  # fmt: skip
    assert await storage.customers.by_caller_number("+491701234567") is None
    assert await storage.customers.count() == 1


async def test_the_full_account_number_is_never_stored(storage: Storage) -> None:
    await _alice(storage)
    view = await storage.customers.by_id("cust-1")
    assert view is not None
    assert account_number_hash(ACCOUNT) != account_number_hash(ACCOUNT, b"another-bank")
    for account in view.accounts:
        assert "1234 5678" not in account.masked_number


async def test_an_account_needs_an_existing_customer(storage: Storage) -> None:
    with pytest.raises(NotFound):
        await storage.customers.add_account("nobody", ACCOUNT, kind="checking")
