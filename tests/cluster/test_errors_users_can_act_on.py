"""Errors a user can act on: etcd unreachable names the endpoints; a taken port names the flag."""

from __future__ import annotations

import socket

import pytest
from aiohttp import web

from cluster.errors import CallCenterError, EtcdUnavailable
from cluster.etcd import Etcd
from cluster.etcd_server import free_port
from cluster.http import HttpServer, make_app


async def test_unreachable_etcd_names_the_endpoints_after_retrying(caplog: pytest.LogCaptureFixture) -> None:
    endpoint = f"127.0.0.1:{free_port()}"
    with pytest.raises(EtcdUnavailable) as caught:
        await Etcd.connect([endpoint], timeout_s=1.5)
    assert endpoint in str(caught.value)
    assert caught.value.error_id == "etcd.unavailable"
    retries = [r for r in caplog.records if r.getMessage() == "etcd unreachable; retrying"]
    assert len(retries) >= 2


async def test_port_in_use_names_the_port_and_the_flag() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = HttpServer(make_app(lambda: {"ok": True}), "127.0.0.1", port, port_flag="--port")
        with pytest.raises(CallCenterError) as caught:
            await server.start()
    assert caught.value.error_id == "http.port_in_use"
    assert str(port) in caught.value.message and "--port" in caught.value.message


async def test_health_metrics_and_json_errors(aiohttp_unused_port=None) -> None:
    import aiohttp

    app = make_app(lambda: {"ok": True, "role": "test"}, max_body_bytes=1024)

    async def echo(request: web.Request) -> web.Response:
        from cluster.http import read_json

        return web.json_response(await read_json(request, max_bytes=1024))

    app.router.add_post("/echo", echo)
    server = HttpServer(app, "127.0.0.1", 0, port_flag="--port")
    await server.start()
    try:
        async with aiohttp.ClientSession() as client:
            async with client.get(server.url + "/healthz") as r:
                assert r.status == 200 and (await r.json())["role"] == "test"
            async with client.get(server.url + "/metrics") as r:
                assert r.status == 200 and "cc_http_requests_total" in await r.text()
            as_json = {"Content-Type": "application/json"}
            async with client.post(server.url + "/echo", data=b"{not json", headers=as_json) as r:
                assert r.status == 400 and (await r.json())["error_id"] == "request.malformed_json"
            async with client.post(server.url + "/echo", data=b"{}") as r:  # no JSON content type
                assert r.status == 415 and (await r.json())["error_id"] == "request.content_type"
            async with client.post(server.url + "/echo", data=b"[1]", headers=as_json) as r:
                assert r.status == 400 and (await r.json())["error_id"] == "request.malformed_json"
            async with client.post(server.url + "/echo", data=b"x" * 5000, headers=as_json) as r:
                assert r.status == 413 and (await r.json())["error_id"] == "request.too_large"
            async with client.get(server.url + "/nowhere") as r:
                assert r.status == 404 and (await r.json())["error_id"] == "http.404"
    finally:
        await server.stop()
