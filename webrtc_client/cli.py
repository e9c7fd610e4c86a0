"""``callcenter call``: place a test call with the Python client and print what happens.

    callcenter call --to 95589 --digits 0 --central http://127.0.0.1:8000
"""

from __future__ import annotations

import asyncio

import click
import uvloop

from webrtc_client.audio import rms
from webrtc_client.client import ClientError, CustomerClient


async def _call(central: list[str], to: str, caller: str, digits: str, seconds: float, tone: float) -> int:
    customer = CustomerClient(central, caller=caller, dialled=to, tone_hz=tone)
    try:
        joined = await customer.call()
        click.echo(f"call {customer.call_id} routed to {customer.site} ({joined.get('state')})")
        if digits:
            await asyncio.sleep(1.0)
            await customer.press(digits, how="datachannel")
            click.echo(f"pressed {digits}")
        assert customer.sig is not None
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while loop.time() < end:
            try:
                event = await customer.sig.event(timeout_s=min(1.0, max(0.05, end - loop.time())))
            except TimeoutError:
                if customer.phone is not None:
                    click.echo(f"  hearing level {rms(customer.phone.receiver.recent(1.0)):.0f}")
                continue
            click.echo(f"  event {event['event']}: {event['data']}")
            if event["event"] == "ended":
                return 0
        await customer.hangup()
        click.echo("hung up")
        return 0
    except ClientError as exc:
        click.echo(f"error: {exc}", err=True)
        return 2
    finally:
        await customer.close()


@click.command("call")
@click.option("--to", "to", default="95589", show_default=True, help="dialled number")
@click.option("--from", "caller", default="+8613800000000", show_default=True, help="caller number")
@click.option("--digits", default="", help="digits to press after the welcome (e.g. 0 for an agent)")
@click.option("--seconds", default=30.0, show_default=True, help="how long to stay on the line")
@click.option("--tone", default=440.0, show_default=True, help="frequency the client sends, Hz")
@click.option("--central", default="http://127.0.0.1:8000", show_default=True, help="central URL(s), comma separated")
def call_command(to: str, caller: str, digits: str, seconds: float, tone: float, central: str) -> None:
    """Place a test call with the Python client (real WebRTC audio) and print its events."""
    code = uvloop.run(_call([u.strip() for u in central.split(",") if u.strip()], to, caller, digits, seconds, tone))
    raise SystemExit(code)
