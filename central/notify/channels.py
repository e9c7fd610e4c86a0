"""Channels deliver one rendered message (``Channel`` protocol). The default, :class:`OutboxChannel`,
writes it to the ``notify_outbox`` table (an SMS gateway or mail relay picks it up from there);
:class:`SmtpChannel` sends e-mail with ``aiosmtplib``. A channel raises :class:`DeliveryFailed`
(``permanent`` when retrying cannot help, e.g. a refused recipient); library errors stop here."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

import aiosmtplib
from sqlalchemy.ext.asyncio import AsyncEngine

from central.notify import tables
from central.notify.errors import DeliveryFailed
from cluster.clock import Clock


@dataclass(frozen=True)
class Message:
    notification_id: int
    channel: str
    address: str
    subject: str
    body: str


class Channel(Protocol):
    async def deliver(self, message: Message) -> None: ...


class OutboxChannel:
    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    async def deliver(self, message: Message) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                tables.outbox.insert().values(
                    notification_id=message.notification_id,
                    channel=message.channel,
                    address=message.address,
                    subject=message.subject,
                    body=message.body,
                    at=self._clock.now(),
                )
            )


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    start_tls: bool | None = None  # None: if the server offers it
    use_tls: bool = False
    timeout_s: float = 10.0


class SmtpChannel:
    def __init__(self, settings: SmtpSettings) -> None:
        self._settings = settings

    async def deliver(self, message: Message) -> None:
        s = self._settings
        mail = EmailMessage()
        mail["From"] = s.sender
        mail["To"] = message.address
        mail["Subject"] = message.subject
        mail["X-CC-Notification"] = str(message.notification_id)
        mail.set_content(message.body)
        try:
            await aiosmtplib.send(
                mail,
                hostname=s.host,
                port=s.port,
                username=s.username,
                password=s.password,
                start_tls=s.start_tls,
                use_tls=s.use_tls,
                timeout=s.timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:  # its text names the address: only the codes
            codes = ", ".join(str(r.code) for r in exc.recipients) or "?"
            raise DeliveryFailed(f"the mail server refused the recipient ({codes})", permanent=True) from exc
        except aiosmtplib.SMTPRecipientRefused as exc:
            raise DeliveryFailed(f"the mail server refused the recipient ({exc.code})", permanent=True) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryFailed(f"the mail server answered {exc.code}", permanent=500 <= exc.code < 600) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise DeliveryFailed(f"the mail server could not be reached: {type(exc).__name__}") from exc
