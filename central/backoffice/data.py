"""The simulated systems' records, derived deterministically from the CRM's demo customers
(:func:`site_node.storage.seed.demo_bank`): the same customer numbers, the same accounts (by
their last four digits; full numbers never leave the simulator), plus a gas contract for every
third customer. State changes (transfers, blocked cards, readings, leak reports) are kept in
memory for the life of the process; :class:`BackOffice` is pure state, time passed in."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from central.backoffice.errors import BackofficeError, LimitExceeded, UnknownItem
from site_node.storage.seed import DEMO_EPOCH, demo_bank

DAILY_TRANSFER_LIMIT = 5_000.0
BRANCHES = ("branch-north", "branch-south", "branch-east")
DAY_S = 86_400.0


@dataclass
class Account:
    account_id: str  # "<customer number>-<kind>-<last four>": opaque, never the full number
    customer_number: str
    kind: str
    last_four: str
    currency: str
    balance: float
    limit: float  # credit limit (credit cards) or overdraft
    transactions: list[dict[str, Any]] = field(default_factory=list)
    card_blocked: bool = False


@dataclass
class GasContract:
    customer_number: str
    meter_id: str
    tariff_eur_kwh: float
    readings: list[dict[str, Any]]
    bill_amount: float
    bill_due: float
    paid: float


def _money(value: float) -> float:
    return round(value, 2)


class BackOffice:
    """Accounts, transfers, cards, statements, branch slots; meters, bills and leaks."""

    def __init__(self, seed: int = 20_261_203) -> None:
        bank = demo_bank()
        rng = random.Random(seed)
        self.customers: dict[str, dict[str, Any]] = {}
        self.accounts: dict[str, Account] = {}
        self.by_customer: dict[str, list[str]] = {}
        self.gas: dict[str, GasContract] = {}
        self.transferred_today: dict[tuple[str, int], float] = {}
        self.statements: list[dict[str, Any]] = []
        self.leaks: list[dict[str, Any]] = []
        self.bookings: dict[tuple[str, float], str] = {}
        numbers = {c["id"]: c["customer_number"] for c in bank.customers}
        for i, c in enumerate(bank.customers):
            self.customers[c["customer_number"]] = {"customer_number": c["customer_number"], "name": c["name"],
                                                    "home_site": c["home_site"], "language": c["language"]}  # fmt: skip
            if i % 3 == 0:
                meter = f"GM-{c['customer_number']}"
                start = rng.randint(1_000, 40_000)
                readings = [{"at": DEMO_EPOCH + m * 30 * DAY_S, "kwh": start + m * rng.randint(300, 1_500)}
                            for m in range(4)]  # fmt: skip
                bill = _money(rng.uniform(40, 400))
                paid = bill if rng.random() < 0.7 else _money(bill * rng.choice((0.0, 0.5)))
                self.gas[c["customer_number"]] = GasContract(c["customer_number"], meter, 0.12, readings, bill,
                                                             DEMO_EPOCH + 120 * DAY_S, paid)  # fmt: skip
        for a in bank.accounts:
            number = numbers[a.customer_id]
            account_id = f"{number}-{a.kind}-{a.full_number[-4:]}"  # two accounts may end alike
            limit = 3_000.0 if a.kind == "credit_card" else 500.0 if a.kind == "checking" else 0.0
            balance = _money(rng.uniform(0, 2_500) if a.kind == "credit_card" else rng.uniform(10, 20_000))
            account = Account(account_id, number, a.kind, a.full_number[-4:], a.currency, balance, limit)
            for t in range(8):
                amount = _money(rng.uniform(-300, 200))
                account.transactions.append({"at": DEMO_EPOCH + (30 - t) * DAY_S, "amount": amount,
                                             "text": rng.choice(("card payment", "salary", "rent", "groceries",
                                                                 "transfer", "cash withdrawal"))})  # fmt: skip
            self.accounts[account_id] = account
            self.by_customer.setdefault(number, []).append(account_id)

    # -- bank --------------------------------------------------------------------------------
    def customer(self, number: str) -> dict[str, Any]:
        found = self.customers.get(number)
        if found is None:
            raise UnknownItem(f"no customer {number!r} in the core system", field="customer_number")
        return found

    def account(self, account_id: str) -> Account:
        found = self.accounts.get(account_id)
        if found is None:
            raise UnknownItem(f"no account {account_id!r}", field="account_id")
        return found

    def account_view(self, a: Account) -> dict[str, Any]:
        available = a.balance + a.limit if a.kind != "credit_card" else a.limit - a.balance
        return {"account_id": a.account_id, "kind": a.kind, "last_four": a.last_four, "currency": a.currency,
                "balance": a.balance, "limit": a.limit, "available": _money(available),
                "card_blocked": a.card_blocked}  # fmt: skip

    def summary(self, number: str) -> dict[str, Any]:
        """The customer with every account, and the first account of each kind by name."""
        customer = self.customer(number)
        accounts = [self.account_view(self.accounts[i]) for i in self.by_customer.get(number, [])]
        by_kind: dict[str, Any] = {}
        for view in accounts:
            by_kind.setdefault(view["kind"], view)
        return {**customer, "accounts": accounts, **by_kind}

    def transactions(self, account_id: str, limit: int) -> dict[str, Any]:
        a = self.account(account_id)
        return {"account_id": a.account_id, "transactions": a.transactions[:limit]}

    def transfer(self, number: str, source: str, target: str, amount: float, now: float) -> dict[str, Any]:
        """Between two accounts of the same customer, within the balance and the daily limit."""
        if not 0 < amount <= 1_000_000:
            raise BackofficeError("amount must be above 0", field="amount")
        src, dst = self.account(source), self.account(target)
        if src.customer_number != number or dst.customer_number != number or source == target:
            raise BackofficeError("transfers go between two different accounts of the same customer",
                                  error_id="backoffice.not_own_account", field="target")  # fmt: skip
        day = (number, int(now // DAY_S))
        used = self.transferred_today.get(day, 0.0)
        if used + amount > DAILY_TRANSFER_LIMIT:
            raise LimitExceeded(f"the daily transfer limit is {DAILY_TRANSFER_LIMIT:.2f}; "
                                f"{DAILY_TRANSFER_LIMIT - used:.2f} left today", field="amount",
                                left_today=_money(DAILY_TRANSFER_LIMIT - used))  # fmt: skip
        if src.kind != "credit_card" and amount > src.balance + src.limit:
            raise LimitExceeded("not enough funds on the source account", error_id="backoffice.insufficient_funds",
                                field="amount")  # fmt: skip
        self.transferred_today[day] = used + amount
        src.balance, dst.balance = _money(src.balance - amount), _money(dst.balance + amount)
        src.transactions.insert(0, {"at": now, "amount": -amount, "text": f"transfer to *{dst.last_four}"})
        dst.transactions.insert(0, {"at": now, "amount": amount, "text": f"transfer from *{src.last_four}"})
        return {"ok": True, "source_balance": src.balance, "target_balance": dst.balance,
                "left_today": _money(DAILY_TRANSFER_LIMIT - used - amount)}  # fmt: skip

    def block_card(self, account_id: str, reason: str) -> dict[str, Any]:
        a = self.account(account_id)
        if a.kind != "credit_card":
            raise BackofficeError(f"account {account_id} has no card to block", field="account_id")
        already = a.card_blocked
        a.card_blocked = True
        return {"ok": True, "account_id": account_id, "already_blocked": already, "reason": reason}

    def statement(self, account_id: str, now: float) -> dict[str, Any]:
        a = self.account(account_id)
        ref = f"ST-{len(self.statements) + 1:06d}"
        self.statements.append({"ref": ref, "account_id": a.account_id, "at": now})
        return {"ok": True, "ref": ref, "transactions": len(a.transactions)}

    def slots(self, branch: str, now: float) -> dict[str, Any]:
        if branch not in BRANCHES:
            raise UnknownItem(f"no branch {branch!r}", field="branch")
        first = (now // DAY_S + 1) * DAY_S + 9 * 3600
        free = [first + d * DAY_S + h * 3600 for d in range(3) for h in (0, 2, 5)
                if (branch, first + d * DAY_S + h * 3600) not in self.bookings]  # fmt: skip
        return {"branch": branch, "slots": free, "next_slot": free[0] if free else None}

    def book(self, branch: str, at: float, number: str, now: float) -> dict[str, Any]:
        self.customer(number)
        if at not in self.slots(branch, now)["slots"]:
            raise BackofficeError("that slot is not free", error_id="backoffice.slot_taken", field="at")
        self.bookings[(branch, at)] = number
        return {"ok": True, "branch": branch, "at": at}

    # -- gas ---------------------------------------------------------------------------------
    def contract(self, number: str) -> GasContract:
        found = self.gas.get(number)
        if found is None:
            raise UnknownItem(f"customer {number!r} has no gas contract", field="customer_number")
        return found

    def meter(self, number: str) -> dict[str, Any]:
        c = self.contract(number)
        return {"meter_id": c.meter_id, "last_reading": c.readings[-1], "readings": c.readings}

    def bill(self, number: str) -> dict[str, Any]:
        c = self.contract(number)
        return {"meter_id": c.meter_id, "amount": c.bill_amount, "due": c.bill_due, "paid": c.paid,
                "arrears": _money(c.bill_amount - c.paid)}  # fmt: skip

    def reading(self, number: str, kwh: float, now: float) -> dict[str, Any]:
        c = self.contract(number)
        last = c.readings[-1]["kwh"]
        if kwh < last:
            raise BackofficeError(f"a reading cannot be below the last one ({last})", field="kwh")
        c.readings.append({"at": now, "kwh": kwh})
        return {"ok": True, "consumed_kwh": kwh - last, "estimate_eur": _money((kwh - last) * c.tariff_eur_kwh)}

    def leak(self, number: str, address: str, now: float) -> dict[str, Any]:
        c = self.contract(number)
        ref = f"LK-{len(self.leaks) + 1:05d}"
        self.leaks.append({"ref": ref, "meter_id": c.meter_id, "address": address, "at": now})
        return {"ok": True, "ref": ref, "crew_eta_min": 30, "meter_id": c.meter_id}
