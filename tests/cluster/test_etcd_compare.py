"""The fencing compare (``Etcd.mod_revision_is``) against a real etcd: it is built from
etcd3aio's public builders only, so check it compares what it says."""

from __future__ import annotations

from cluster.etcd import Etcd
from cluster.keys import Keyspace


async def test_mod_revision_compare_passes_only_on_the_current_revision(etcd: Etcd, keyspace: Keyspace) -> None:
    key = f"{keyspace.prefix}/fenced"
    await etcd.put(key, "v1")
    first = await etcd.get(key)
    assert first is not None
    await etcd.put(key, "v2")
    current = await etcd.get(key)
    assert current is not None and current.mod_revision > first.mod_revision

    stale = await etcd.txn([Etcd.mod_revision_is(key, first.mod_revision)], [Etcd.op_put(key, "stale")])
    assert not stale.succeeded
    fresh = await etcd.txn([Etcd.mod_revision_is(key, current.mod_revision)], [Etcd.op_put(key, "v3")])
    assert fresh.succeeded
    after = await etcd.get(key)
    assert after is not None and after.value == b"v3"
