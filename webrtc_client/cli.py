"""``callcenter call``: place a test call with the Python client and print what happens.

callcenter call --to 95589 --digits 0 --central http://127.0.0.1:8000
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import click
import uvloop

from cluster.tls import client_session
from webrtc_client.audio import rms
from webrtc_client.client import ClientError, CustomerClient


async def _call(
    central: list[str], to: str, caller: str, digits: str, seconds: float, tone: float, verbose: bool,
    ca_file: str | None = None,
) -> int:
    customer = CustomerClient(central, caller=caller, dialled=to, tone_hz=tone, ca_file=ca_file)
    line = Timeline(verbose)
    try:
        joined = await customer.call()
        line.say(f"routed to {customer.site} (call {customer.call_id}, {joined.get('state')})")
        if digits:
            await asyncio.sleep(1.0)
            await customer.press(digits, how="datachannel")
            line.say(f"IVR: pressed {digits}")
        assert customer.sig is not None
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while loop.time() < end:
            try:
                event = await customer.sig.event(timeout_s=min(1.0, max(0.05, end - loop.time())))
            except TimeoutError:
                line.heard(customer)
                continue
            if line.event(event["event"], event["data"]):
                line.finish()
                return 0
            line.heard(customer)
        await customer.hangup()
        line.say("hung up (time is up)")
        line.finish()
        return 0
    except ClientError as exc:
        click.echo(f"error: {exc}", err=True)
        return 2
    finally:
        await customer.close()


class Timeline:
    """What happened to the call, a line a step; ``verbose`` adds every event and audio level."""

    HEARD_LEVEL = 300.0  # RMS of the received audio above which someone is talking

    def __init__(self, verbose: bool) -> None:
        self.verbose = verbose
        self.started = time.monotonic()
        self.answered = False
        self.agent_heard = False
        self.by: str | None = None
        self.answered_at = 0.0

    def say(self, text: str) -> None:
        click.echo(f"{time.monotonic() - self.started:6.1f}s  {text}")

    def event(self, name: str, data: dict[str, Any]) -> bool:
        """Print one pushed event; True when the call has ended."""
        if self.verbose:
            self.say(f"event {name}: {data}")
        if name == "queued":
            wait = data.get("expected_wait_s")
            self.say(
                f"queued in {data.get('queue')}, position {data.get('position')}"
                + ("" if wait is None else f", expected wait {wait} s")
            )
        elif name == "offered":
            self.say("ringing an agent")
        elif name == "connected":
            self.answered, self.by = True, str(data.get("agent") or "an agent")
            self.answered_at = time.monotonic()
            self.say(f"answered by {self.by}")
        elif name in ("on_hold", "resumed", "conference", "transfer_fallback", "moved"):
            self.say(name.replace("_", " ") + (f": {data}" if data else ""))
        elif name == "ended":
            self.say(f"ended: {data.get('reason')} (by {data.get('by')})")
            return True
        return False

    def heard(self, customer: CustomerClient) -> None:
        if customer.phone is None:
            return
        level = rms(customer.phone.receiver.recent(1.0))
        if self.verbose:
            self.say(f"hearing level {level:.0f}")
        settled = time.monotonic() - self.answered_at > 1.2  # the last second holds no queue music
        if self.answered and settled and not self.agent_heard and level > self.HEARD_LEVEL:
            self.agent_heard = True
            self.say(f"audio: hearing {self.by}")

    def finish(self) -> None:
        if self.answered:
            self.say(f"audio heard from the agent: {'yes' if self.agent_heard else 'no'}")
        else:
            self.say("no agent answered")


@click.command("call")
@click.option("--to", "to", default="95589", show_default=True, help="dialled number")
@click.option("--from", "caller", default="+8613800000000", show_default=True, help="caller number")
@click.option("--digits", default="", help="digits to press after the welcome (e.g. 0 for an agent)")
@click.option("--seconds", default=30.0, show_default=True, help="how long to stay on the line")
@click.option("--tone", default=440.0, show_default=True, help="frequency the client sends, Hz")
@click.option("--central", default="http://127.0.0.1:8000", show_default=True, help="central URL(s), comma separated")
@click.option("--verbose", is_flag=True, help="every event and audio level, not only the timeline")
@click.option("--ca-file", envvar="CC_TLS__CA_FILE", default=None, help="CA to trust for https/wss (demo --tls)")
def call_command(
    to: str, caller: str, digits: str, seconds: float, tone: float, central: str, verbose: bool, ca_file: str | None
) -> None:
    """Place a test call with the Python client (real WebRTC audio) and print its timeline."""
    centrals = [u.strip() for u in central.split(",") if u.strip()]
    code = uvloop.run(_call(centrals, to, caller, digits, seconds, tone, verbose, ca_file))
    raise SystemExit(code)


@click.command("agents")
@click.option("--site", "site_url", required=True, help="the site's URL, e.g. http://127.0.0.1:8010")
@click.option("--site-name", default=None, help="the site's name (default: asked from the site)")
@click.option("--central", default="http://127.0.0.1:8000", show_default=True, help="central URL(s), comma separated")
@click.option("--agent", "agent_ids", multiple=True, help="agent id to simulate (repeat); default: --count of them")
@click.option("--count", default=3, show_default=True, help="how many agents, if none is named")
@click.option("--password", default="demo", show_default=True, help="the agents' password (demo data: demo)")
@click.option("--talk-s", default=8.0, show_default=True, help="average talk time, seconds")
@click.option("--wrap-s", default=2.0, show_default=True, help="after-call work, seconds")
def agents_command(
    site_url: str,
    site_name: str | None,
    central: str,
    agent_ids: tuple[str, ...],
    count: int,
    password: str,
    talk_s: float,
    wrap_s: float,
) -> None:
    """Simulated agents at a site: they answer, talk a while (a tone), hang up and wrap up."""
    from cluster.commands import run_service
    from webrtc_client.simulated import run_agents

    async def main(stop: asyncio.Event) -> None:
        name = site_name or await _site_name(site_url)
        centrals = [u.strip() for u in central.split(",") if u.strip()]
        await run_agents(
            site_url,
            name,
            centrals,
            agent_ids=agent_ids,
            count=count,
            password=password,
            talk_s=talk_s,
            wrap_s=wrap_s,
            stop=stop,
        )

    run_service(main)


async def _site_name(site_url: str) -> str:
    import aiohttp

    async with client_session() as http:
        for _ in range(120):  # the site may still be starting
            try:
                async with http.get(site_url + "/healthz") as response:
                    return str((await response.json())["name"])
            except (aiohttp.ClientError, KeyError, ValueError):
                await asyncio.sleep(0.5)
    raise click.ClickException(f"no site answers at {site_url}")
