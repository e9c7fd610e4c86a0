"""Finding 4: a call cannot be taken over through the idempotency key. Knowing a live call's
id (and its caller and dialled numbers) gives no token for it: the id is a keyed digest of the
first client's secret request id, never the request id itself."""

from __future__ import annotations

from collections.abc import Iterator

import aiohttp
import pytest

from cluster.launcher import LocalCluster
from tests.e2e.helpers import centrals, running_cluster
from webrtc_client.client import CustomerClient

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    with running_cluster(tmp_path_factory.mktemp("cluster"), sites=1, centrals=1) as c:
        yield c


async def test_replaying_a_call_id_as_request_id_does_not_hand_out_the_victims_call(cluster: LocalCluster) -> None:
    victim = CustomerClient(centrals(cluster), caller="+8613000000123", dialled="95589", media=False)
    await victim.call()
    central = centrals(cluster)[0]
    async with aiohttp.ClientSession() as http:
        attack = {"caller": victim.caller, "dialled": victim.dialled, "request_id": victim.call_id}
        async with http.post(central + "/v1/calls", json=attack) as r:
            got = await r.json()
        assert r.status == 201 and got["call_id"] != victim.call_id  # a call of its own, not the victim's
        async with http.post(f"{central}/v1/calls/{victim.call_id}/reconnect", json={"token": got["token"]}) as r:
            assert (r.status, (await r.json())["error_id"]) == (403, "token.wrong_call")
        again = {"caller": victim.caller, "dialled": victim.dialled, "request_id": victim.call_id}
        async with http.post(central + "/v1/calls", json=again) as r:
            assert (await r.json())["call_id"] == got["call_id"]  # still idempotent for its own client
    assert victim.sig is not None and not victim.sig.closed.is_set()
    await victim.close()
