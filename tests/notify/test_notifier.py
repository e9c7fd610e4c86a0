"""Notifications through the real store on SQLite: consent, retries with backoff, history, the
closed loop from a resolved work order; the SMTP channel against a real aiosmtpd server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from central.notify import tables
from central.notify.backoff import Backoff, next_delay
from central.notify.channels import Message, OutboxChannel, SmtpChannel, SmtpSettings
from central.notify.errors import DeliveryFailed, UnknownTemplate
from central.notify.service import Notice, Notifier
from central.notify.templates import render
from central.workorders.lifecycle import Event
from central.workorders.notice import ResolutionNotice
from central.workorders.service import NewOrder
from cluster.clock import ManualClock
from cluster.etcd_server import free_port
from cluster.periodic import Periodic
from tests.notify.smtp_server import Mailbox, smtp_server  # noqa: F401
from tests.workorders.conftest import START, make_service


class History:
    def __init__(self) -> None:
        self.entries: list[tuple[str, dict[str, Any]]] = []

    async def append(self, customer_number: str, entry: Mapping[str, Any]) -> None:
        self.entries.append((customer_number, dict(entry)))


class Flaky:
    """A channel that fails ``failures`` times, then delivers to the outbox."""

    def __init__(self, inner: OutboxChannel, failures: int, *, permanent: bool = False) -> None:
        self.inner, self.failures, self.permanent, self.tries = inner, failures, permanent, 0

    async def deliver(self, message: Message) -> None:
        self.tries += 1
        if self.tries <= self.failures:
            raise DeliveryFailed("gateway down", permanent=self.permanent)
        await self.inner.deliver(message)


def test_backoff_schedule() -> None:
    policy = Backoff(base_s=10, factor=2, max_s=50, max_attempts=5)
    assert [next_delay(policy, n) for n in range(1, 6)] == [10, 20, 40, 50, None]
    with pytest.raises(ValueError):
        next_delay(policy, 0)
    with pytest.raises(ValueError):
        Backoff(base_s=0)


def test_templates_in_english_and_chinese() -> None:
    params = {"order_id": "WO-1", "subject": "gas leak"}
    assert render("workorder_resolved", "en", params).subject == "Your request WO-1 is resolved"
    zh = render("workorder_resolved", "zh", params)
    assert (zh.language, zh.subject) == ("zh", "您的工单 WO-1 已处理完毕")
    assert render("workorder_resolved", "fr", params).language == "en"
    with pytest.raises(UnknownTemplate):
        render("nope", "en", params)
    with pytest.raises(Exception, match="needs 'subject'"):
        render("workorder_resolved", "en", {"order_id": "WO-1"})


@pytest.fixture
async def engine_clock(tmp_path: Path) -> AsyncIterator[tuple[Any, ManualClock]]:
    clock = ManualClock(START)
    service = await make_service(f"sqlite+aiosqlite:///{tmp_path / 'b.db'}", tmp_path, clock)
    yield service.store.engine, clock
    await service.store.engine.dispose()


async def outbox_rows(engine: Any) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        return [dict(r._mapping) for r in await conn.execute(sa.select(tables.outbox).order_by(tables.outbox.c.id))]


NOTICE = Notice(
    "C1001",
    "sms",
    "+8613800000000",
    "workorder_resolved",
    {"order_id": "WO-9", "subject": "meter"},
    "zh",
    reference="WO-9",
)


async def test_no_consent_is_recorded_and_never_sent(engine_clock: tuple[Any, ManualClock]) -> None:
    engine, clock = engine_clock
    history = History()
    notifier = Notifier(engine, {"sms": OutboxChannel(engine, clock)}, clock, history)
    row = await notifier.notify(NOTICE, consented=False)
    assert row["status"] == "suppressed"
    assert await outbox_rows(engine) == []
    assert [(c, e["status"]) for c, e in history.entries] == [("C1001", "suppressed")]
    assert "address" not in history.entries[0][1] and "body" not in history.entries[0][1]


async def test_retries_with_backoff_on_an_injected_clock(engine_clock: tuple[Any, ManualClock]) -> None:
    engine, clock = engine_clock
    history = History()
    flaky = Flaky(OutboxChannel(engine, clock), failures=2)
    notifier = Notifier(engine, {"sms": flaky}, clock, history, Backoff(base_s=10, factor=3, max_s=100))
    retrier = Periodic("retrier", 5.0, notifier.retry_due, scheduler=clock)
    retrier.start()
    try:
        row = await notifier.notify(NOTICE, consented=True)
        assert (row["status"], row["attempts"], row["next_attempt_at"]) == ("pending", 1, START + 10)
        clock.advance(5)
        await retrier.drain()
        assert flaky.tries == 1  # not due yet
        clock.advance(5)
        await retrier.drain()
        (row,) = await notifier.deliveries(reference="WO-9")
        assert (row["status"], row["attempts"], row["next_attempt_at"]) == ("pending", 2, START + 10 + 30)
        clock.advance(30)
        await retrier.drain()
        (row,) = await notifier.deliveries(customer_number="C1001")
        assert (row["status"], row["attempts"], row["sent_at"]) == ("sent", 3, START + 40)
    finally:
        await retrier.stop()
    (sent,) = await outbox_rows(engine)
    assert sent["body"].startswith("尊敬的客户") and "WO-9" in sent["body"]
    assert [e["status"] for _, e in history.entries] == ["sent"]


async def test_gives_up_after_the_last_attempt_or_a_permanent_failure(engine_clock: tuple[Any, ManualClock]) -> None:
    engine, clock = engine_clock
    history = History()
    notifier = Notifier(
        engine, {"sms": Flaky(OutboxChannel(engine, clock), 9)}, clock, history, Backoff(base_s=1, max_attempts=2)
    )
    await notifier.notify(NOTICE, consented=True)
    clock.advance(1)
    (row,) = await notifier.retry_due()
    assert (row["status"], row["attempts"], row["last_error"]) == ("failed", 2, "gateway down")
    clock.advance(100)
    assert await notifier.retry_due() == []
    permanent = Notifier(engine, {"sms": Flaky(OutboxChannel(engine, clock), 1, permanent=True)}, clock, history)
    assert (await permanent.notify(NOTICE, consented=True))["status"] == "failed"
    assert [e["status"] for _, e in history.entries] == ["failed", "failed"]


async def test_resolution_notifies_the_customer(tmp_path: Path) -> None:
    clock = ManualClock(START)
    service = await make_service(f"sqlite+aiosqlite:///{tmp_path / 'b.db'}", tmp_path, clock)
    engine = service.store.engine
    try:
        history = History()
        notifier = Notifier(
            engine, {"sms": OutboxChannel(engine, clock), "email": OutboxChannel(engine, clock)}, clock, history
        )
        service.listener = ResolutionNotice(notifier)
        await service.create_department("repairs", "Repairs", ["crew-1"])
        order = await service.create(
            NewOrder(
                type="repair",
                priority="normal",
                department="repairs",
                subject="meter",
                created_by="north-1",
                customer_number="C7",
                assignee="crew-1",
                contact_phone="+8613800000001",
                contact_email="li@example.com",
                contact_consent=True,
                language="zh",
            )
        )
        quiet = await service.create(
            NewOrder(
                type="repair",
                priority="normal",
                department="repairs",
                subject="meter",
                created_by="north-1",
                customer_number="C8",
                assignee="crew-1",
                contact_phone="+8613800000002",
                contact_consent=False,
            )
        )
        for o in (order, quiet):
            await service.step(o["id"], Event.START, "crew-1")
            await service.step(o["id"], Event.RESOLVE, "crew-1")
        sent = await outbox_rows(engine)
        assert sorted((r["channel"], r["address"]) for r in sent) == [
            ("email", "li@example.com"),
            ("sms", "+8613800000001"),
        ]
        assert all(order["id"] in r["body"] and "已处理完毕" in r["body"] for r in sent)
        assert [d["status"] for d in await notifier.deliveries(reference=quiet["id"])] == ["suppressed"]
        assert [(c, e["status"]) for c, e in history.entries] == [("C7", "sent"), ("C7", "sent"), ("C8", "suppressed")]
    finally:
        await engine.dispose()


async def test_smtp_channel_against_a_real_server(smtp_server: tuple[Mailbox, int]) -> None:  # noqa: F811
    mailbox, port = smtp_server
    channel = SmtpChannel(SmtpSettings("127.0.0.1", port, "service@bank.example", start_tls=False))
    await channel.deliver(Message(7, "email", "li@example.com", "您的工单 WO-1 已处理完毕", "尊敬的客户，已处理完毕。"))
    (envelope,) = mailbox.received
    assert (envelope.mail_from, envelope.rcpt_tos) == ("service@bank.example", ["li@example.com"])
    mail = message_from_bytes(envelope.original_content or b"", policy=default_policy)
    assert mail["Subject"] == "您的工单 WO-1 已处理完毕"
    assert mail["X-CC-Notification"] == "7"
    assert "尊敬的客户" in mail.get_body().get_content()  # type: ignore[union-attr]
    with pytest.raises(DeliveryFailed) as refused:
        await channel.deliver(Message(8, "email", "nobody@example.com", "s", "b"))
    assert refused.value.permanent
    assert "nobody@" not in refused.value.message  # the error lands in the contact history: no address
    down = SmtpChannel(SmtpSettings("127.0.0.1", free_port(), "service@bank.example", timeout_s=2))
    with pytest.raises(DeliveryFailed) as unreachable:
        await down.deliver(Message(9, "email", "li@example.com", "s", "b"))
    assert not unreachable.value.permanent
