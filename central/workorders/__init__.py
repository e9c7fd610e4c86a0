"""Work orders: typed back-office tickets with departments, SLA deadlines, a pure lifecycle,
comments, attachments, escalation and the closed loop (resolution notifies the customer).

    lifecycle.py   the pure state machine (status x event -> status, effects)
    calendar.py    business hours and holidays (pure)
    sla.py         SLA policies per type and priority, deadlines, escalation decisions (pure)
    tables.py      the tables (own MetaData), migration.py the Alembic body for them
    store.py       the store on an AsyncEngine (SQLite, PostgreSQL)
    service.py     creation / transitions with validation, the closed loop
    escalation.py  the owned background task that escalates orders close to a breach
"""
