"""The statistics' CDR column list is the site storage's schema, column for column."""

from __future__ import annotations

from sqlalchemy import Boolean, Double, Float, Integer, String

from central.stats.columns import READ_COLUMNS, TIME_COLUMNS
from central.stats.db import calls_table
from cluster.cdr import CDR_COLUMNS
from site_node.storage.models import Call
from site_node.storage.records import CDR_COLUMNS as STORED_COLUMNS

KINDS = {"text": String, "int": Integer, "time": Float, "seconds": Float, "bool": Boolean}


def test_the_columns_are_the_storage_schema_in_order() -> None:
    assert tuple(CDR_COLUMNS) == STORED_COLUMNS
    assert [c.name for c in Call.__table__.columns] == list(CDR_COLUMNS)


def test_each_kind_matches_the_stored_type() -> None:
    for column in Call.__table__.columns:
        assert isinstance(column.type, KINDS[CDR_COLUMNS[column.name]]), column.name


def test_the_stats_table_is_built_from_the_list() -> None:
    assert [c.name for c in calls_table.columns] == list(CDR_COLUMNS)
    assert [c.name for c in calls_table.primary_key] == ["call_id"]
    assert all(isinstance(calls_table.c[name].type, Double) for name in TIME_COLUMNS)


def test_the_kpis_read_only_cdr_columns() -> None:
    assert set(READ_COLUMNS) <= set(CDR_COLUMNS)
    assert len(set(READ_COLUMNS)) == len(READ_COLUMNS)
