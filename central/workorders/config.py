"""The ``central.workorders`` section: the SLA calendar, the escalation and retry timers, where
attachments are kept, and the mail server (if any). Work orders and notifications are stored in
the business database (the ``business`` section, ``CC_BUSINESS__DATABASE_URL``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import Field

from cluster.config import Section


class SmtpConfig(Section):
    host: str | None = None  # none: e-mail goes to the outbox table like SMS
    port: int = Field(default=25, ge=1, le=65535)
    sender: str = "service@callcenter.example"
    username: str | None = None
    password: str | None = None
    start_tls: bool | None = None  # None: when the server offers it
    timeout_s: float = Field(default=10.0, gt=0, le=120)


class BusinessHoursConfig(Section):
    open_h: float = Field(default=9.0, ge=0, lt=24)
    close_h: float = Field(default=17.0, gt=0, le=24)
    days: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4])  # 0 = Monday
    holidays: list[dt.date] = Field(default_factory=list)
    utc_offset_s: int = Field(default=0, ge=-14 * 3600, le=14 * 3600)


class WorkOrdersConfig(Section):
    attachments_dir: str = "workorder-attachments"  # under business.data_dir
    escalation_interval_s: float = Field(default=30.0, gt=0)
    warn_before_s: float = Field(default=900.0, ge=0)  # escalate this long before a deadline
    retry_interval_s: float = Field(default=15.0, gt=0)  # notifications due for a retry
    business_hours: BusinessHoursConfig = Field(default_factory=BusinessHoursConfig)
    smtp: SmtpConfig = Field(default_factory=SmtpConfig)

    def attachments_path(self, data_dir: str) -> Path:
        return Path(data_dir).resolve() / self.attachments_dir
