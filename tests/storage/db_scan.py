"""Every value of every table of a site database, as text (for "was it stored?" checks)."""

from __future__ import annotations

from sqlalchemy import select

from site_node.storage.engine import create_engine
from site_node.storage.models import metadata


async def all_values(url: str) -> list[str]:
    engine = create_engine(url)
    values: list[str] = []
    try:
        async with engine.connect() as connection:
            for table in metadata.sorted_tables:
                for row in (await connection.execute(select(table))).all():
                    values.extend(str(value) for value in row)
    finally:
        await engine.dispose()
    return values
