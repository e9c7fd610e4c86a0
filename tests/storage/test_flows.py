"""IVR flows: each save is a new version; calls can load the version they started with."""

from __future__ import annotations

import asyncio

import pytest

from site_node.storage import NotFound, Storage, StorageError

DOC_V1 = {"start": "menu", "nodes": {"menu": {"prompt": "For balance, press 1", "keys": {"1": "b"}}}}
DOC_V2 = {"start": "menu", "nodes": {"menu": {"prompt": "For balance, press 1. For loans, press 2"}}}


async def test_versions_count_up_and_old_versions_stay(storage: Storage) -> None:
    v1 = await storage.flows.save_flow("main", DOC_V1, published_at=10.0, published_by="admin")
    v2 = await storage.flows.save_flow("main", DOC_V2, published_at=20.0)
    other = await storage.flows.save_flow("vip", DOC_V1, published_at=30.0)

    assert (v1.version, v2.version, other.version) == (1, 2, 1)
    latest = await storage.flows.load_flow("main")
    assert (latest.version, latest.document, latest.published_at) == (2, DOC_V2, 20.0)
    first = await storage.flows.load_flow("main", 1)
    assert (first.document, first.published_by) == (DOC_V1, "admin")
    assert await storage.flows.flow_versions("main") == [1, 2]
    assert await storage.flows.latest_versions() == {"main": 2, "vip": 1}


async def test_missing_flows_and_versions_raise_not_found(storage: Storage) -> None:
    await storage.flows.save_flow("main", DOC_V1, published_at=10.0)

    with pytest.raises(NotFound) as caught:
        await storage.flows.load_flow("main", 7)
    assert caught.value.error_id == "storage.not_found"
    with pytest.raises(NotFound):
        await storage.flows.load_flow("absent")


async def test_concurrent_saves_get_distinct_versions(storage: Storage) -> None:
    saved = await asyncio.gather(*(storage.flows.save_flow("main", {"n": i}, published_at=float(i)) for i in range(6)))

    assert sorted(f.version for f in saved) == [1, 2, 3, 4, 5, 6]
    for flow in saved:
        assert (await storage.flows.load_flow("main", flow.version)).document == flow.document


async def test_a_document_must_be_json(storage: Storage) -> None:
    with pytest.raises(StorageError) as caught:
        await storage.flows.save_flow("main", {"bad": {1, 2}}, published_at=1.0)
    assert caught.value.error_id == "storage.bad_value"
    assert await storage.flows.flow_versions("main") == []
