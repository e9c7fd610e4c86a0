"""etcd backup and restore as docs/deployment.md tells it: ``etcdctl snapshot save`` on a running
3-member cluster holding calls' routing records, ``snapshot restore`` into 3 new members (new data
dirs, the same addresses), start them: the keys are back and a client connected before reconnects."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import pytest

from cluster.errors import EtcdUnavailable
from cluster.etcd import Etcd
from cluster.etcd_server import EtcdCluster, EtcdMember
from cluster.keys import Keyspace


def _etcdctl(*args: str) -> None:
    subprocess.run(
        ["etcdctl", *args], check=True, capture_output=True, env={"ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"}
    )


@pytest.mark.slow
async def test_snapshot_restore_into_three_new_members(tmp_path: Path) -> None:
    old = EtcdCluster(tmp_path / "old", cluster_size=3).start()
    keys = Keyspace("/restore")
    records = {f"call-{i}": {"call_id": f"call-{i}", "site": "north", "state": "queued"} for i in range(5)}
    client = await Etcd.connect(old.endpoints, timeout_s=20)
    try:
        for call_id, record in records.items():
            await client.put(f"{keys.calls}{call_id}", json.dumps(record))
        snapshot = tmp_path / "cc.db"
        await asyncio.to_thread(_etcdctl, "--endpoints", old.endpoints[0], "snapshot", "save", str(snapshot))
        old.stop()

        new = EtcdCluster(
            tmp_path / "new",
            members=[EtcdMember(m.name, m.client_port, m.peer_port, tmp_path / "new" / m.name) for m in old.members],
        )
        for m in new.members:
            _etcdctl("snapshot", "restore", str(snapshot), "--name", m.name,
                     "--initial-cluster", new._initial_cluster(), "--initial-cluster-token", "cc-restored",
                     "--initial-advertise-peer-urls", m.peer_url, "--data-dir", str(m.data_dir))  # fmt: skip
        new.start()
        try:
            async with asyncio.timeout(60):  # the client from before the restore finds the new members
                while True:
                    try:
                        kvs, _ = await client.get_prefix(keys.calls)
                        break
                    except EtcdUnavailable:
                        await asyncio.sleep(0.5)
            assert {kv.key.rsplit("/", 1)[-1]: json.loads(kv.value) for kv in kvs} == records
            await client.put(f"{keys.calls}call-new", "{}")  # and writes: the restored cluster has quorum
            assert await client.get(f"{keys.calls}call-new") is not None
        finally:
            new.stop()
    finally:
        await client.close()
        old.stop()
