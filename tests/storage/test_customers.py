"""Customer look-ups: caller number, customer number, account number (through its hash);
PINs: set, verified, refused when malformed, never stored or shown in clear."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import pytest

from site_node.storage import CustomerView, NotFound, Storage, StorageError
from site_node.storage.customers import NewCustomer
from site_node.storage.hashing import account_number_hash

from .db_scan import all_values

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


PIN = "482913"


async def test_pin_round_trip(storage: Storage) -> None:
    await _alice(storage)
    assert not await storage.customers.verify_pin("cust-1", PIN)  # no PIN set yet

    await storage.customers.set_pin("cust-1", PIN)

    assert await storage.customers.verify_pin("cust-1", PIN)
    assert not await storage.customers.verify_pin("cust-1", "482914")
    assert not await storage.customers.verify_pin("cust-1", "48291")
    assert not await storage.customers.verify_pin("cust-1", "")
    assert not await storage.customers.verify_pin("nobody", PIN)


async def test_a_new_pin_replaces_the_old_one_and_saving_the_customer_keeps_it(storage: Storage) -> None:
    await _alice(storage)
    await storage.customers.set_pin("cust-1", PIN)
    await storage.customers.set_pin("cust-1", "0042")
    await storage.customers.save_customer(NewCustomer(id="cust-1", customer_number="10000001", name="Alice Weber-Lang"))

    assert await storage.customers.verify_pin("cust-1", "0042")
    assert not await storage.customers.verify_pin("cust-1", PIN)


@pytest.mark.parametrize("bad", ["123", "1234567", "12a4", "", " 1234", "1234\n", "１２３４", "١٢٣٤", 1234, None])
async def test_a_malformed_pin_is_refused_without_echoing_it(storage: Storage, bad: Any) -> None:
    await _alice(storage)

    with pytest.raises(StorageError) as caught:
        await storage.customers.set_pin("cust-1", bad)

    assert (caught.value.error_id, caught.value.status) == ("storage.bad_pin", 400)
    assert (caught.value.message, caught.value.details) == ("a PIN must be 4 to 6 digits", {})
    assert not await storage.customers.verify_pin("cust-1", str(bad))


async def test_a_pin_needs_an_existing_customer(storage: Storage) -> None:
    with pytest.raises(NotFound):
        await storage.customers.set_pin("nobody", PIN)


async def test_the_clear_pin_is_stored_nowhere_and_shown_nowhere(
    storage: Storage, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await _alice(storage)

    await storage.customers.set_pin("cust-1", PIN)
    assert await storage.customers.verify_pin("cust-1", PIN)

    values = await all_values(db_url)
    assert [v for v in values if PIN in v] == []
    assert sum(v.startswith("$argon2id$") for v in values) == 1
    view = await storage.customers.by_id("cust-1")
    assert [f.name for f in dataclasses.fields(CustomerView) if "pin" in f.name] == []
    assert PIN not in repr(view) and "$argon2" not in repr(view)
    assert PIN not in caplog.text


async def test_an_older_pin_hash_is_replaced_by_argon2id_on_the_next_good_check(storage: Storage, db_url: str) -> None:
    from site_node.storage.hashing import scrypt_hash

    await _alice(storage)
    await storage.customers.set_pin("cust-1", PIN)
    old = scrypt_hash(PIN, n=2**10)  # the cheap deterministic kind the demo seed writes
    await _set_pin_hash(db_url, "cust-1", old)
    assert not await storage.customers.verify_pin("cust-1", "000000")
    assert old in await all_values(db_url)  # a wrong PIN changes nothing
    assert await storage.customers.verify_pin("cust-1", PIN)
    values = await all_values(db_url)
    assert old not in values and sum(v.startswith("$argon2id$") for v in values) == 1
    assert await storage.customers.verify_pin("cust-1", PIN)


async def _set_pin_hash(db_url: str, customer_id: str, digest: str) -> None:
    from sqlalchemy import update

    from site_node.storage.engine import create_engine
    from site_node.storage.models import Customer

    engine = create_engine(db_url)
    async with engine.begin() as conn:
        await conn.execute(update(Customer).where(Customer.id == customer_id).values(pin_hash=digest))
    await engine.dispose()
