"""Customer notifications: SMS and e-mail through channel adapters, templates per language,
consent respected, retries with exponential backoff, delivery status recorded.

    tables.py     notifications (status, attempts, next attempt) and the outbox (own MetaData)
    templates.py  the messages in English and Chinese
    backoff.py    the retry schedule (pure)
    channels.py   the ``Channel`` protocol, the outbox channel (default) and SMTP (aiosmtplib)
    service.py    ``Notifier``: send, retry what is due, report deliveries; ``HistorySink``
"""
