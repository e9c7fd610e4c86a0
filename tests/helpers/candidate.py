"""A bare election candidate process for fencing tests.

Campaigns with a real etcd session, prints ``LEADER <fencing token>`` once it leads, then for
every ``WRITE <key>`` line on stdin attempts a fenced write *without* consulting any local
belief about its leadership (etcd alone decides) and prints ``WRITE ok`` or
``WRITE refused <error_id>``.
"""

from __future__ import annotations

import asyncio
import sys

import uvloop

from cluster.config import load_settings
from cluster.election import Election
from cluster.errors import CallCenterError
from cluster.etcd import Etcd, Session
from cluster.keys import Keyspace


async def main(name: str) -> None:
    settings = load_settings()
    keys = Keyspace(settings.etcd.prefix)
    etcd = await Etcd.connect(settings.etcd.endpoints)
    session = await Session(etcd, settings.etcd.lease_ttl_s).start()
    election = Election(etcd, session, keys.election("fence"))
    await election.campaign(name.encode())
    print(f"LEADER {election.fencing_token}", flush=True)
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        _, key = line.split()
        try:
            await election.fenced_txn([], [Etcd.op_put(key, name)])
            print("WRITE ok", flush=True)
        except CallCenterError as exc:
            print(f"WRITE refused {exc.error_id}", flush=True)


if __name__ == "__main__":
    uvloop.run(main(sys.argv[1]))
