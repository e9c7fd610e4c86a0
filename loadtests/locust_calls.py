"""What one simulated caller and one simulated agent do (asyncio; no Locust in here).

Every step is reported through :class:`CallContext` (``step``): the Locust side turns it into a
request event (request_type ``CALL`` or ``AGENT``), so Locust's stats, charts and CSVs show
route, connect, ivr, queue_wait, talk, hangup, answer, wrap_up... Failures carry the error id.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from cluster.tls import client_session
from loadtests.locust_options import Settings, draw
from loadtests.locust_report import AgentTally, CallOutcome
from webrtc_client.client import AgentClient, ClientError, CustomerClient

RING_TIMEOUT_S = 15.0  # the site's default; an agent answers well before it
MAX_WRAP_S = 25.0  # the site ends wrap-up by itself after 30 s
END_WAIT_S = 10.0
StepSink = Callable[[str, str, float, BaseException | None], None]  # type, name, ms, error


class StepFailed(Exception):
    """A step went wrong; ``error_id`` is what the report counts."""

    def __init__(self, error_id: str, message: str = "") -> None:
        super().__init__(f"[{error_id}] {message}" if message else f"[{error_id}]")
        self.error_id = error_id


def error_id(exc: BaseException) -> str:
    if isinstance(exc, (ClientError, StepFailed)):
        return exc.error_id
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, aiohttp.ClientError | OSError):
        return f"network.{type(exc).__name__}"
    return type(exc).__name__


@dataclass
class CallContext:
    settings: Settings
    step_sink: StepSink
    record: Callable[[CallOutcome], None]
    started: Callable[[], None] = lambda: None
    finished: Callable[[], None] = lambda: None
    rng: random.Random = field(default_factory=random.Random)
    stopping: bool = False
    customers: set[CustomerClient] = field(default_factory=set)
    agents: set[AgentClient] = field(default_factory=set)
    _http: aiohttp.ClientSession | None = None
    _idle: asyncio.Event = field(default_factory=asyncio.Event)  # set while no client is live

    def joined(self, client: CustomerClient | AgentClient) -> None:
        if isinstance(client, AgentClient):
            self.agents.add(client)
        else:
            self.customers.add(client)
        self._idle.clear()

    def left(self, client: CustomerClient | AgentClient) -> None:
        if isinstance(client, AgentClient):
            self.agents.discard(client)
        else:
            self.customers.discard(client)
        if not (self.customers or self.agents):
            self._idle.set()

    def http(self) -> aiohttp.ClientSession:
        """One session for the whole process (no connection limit: every caller holds a socket)."""
        if self._http is None or self._http.closed:
            self._http = client_session(limit=0)
        return self._http

    def step(self, kind: str, name: str, since: float, error: BaseException | None = None) -> None:
        self.step_sink(kind, name, 1000.0 * (time.monotonic() - since), error)

    async def shutdown(self, grace_s: float = 5.0) -> None:
        """Test stopping: hang up live callers, log agents out, close the session."""
        self.stopping = True
        await asyncio.gather(*(c.hangup() for c in list(self.customers)), return_exceptions=True)
        await asyncio.gather(*(_logout(a) for a in list(self.agents)), return_exceptions=True)
        if self.customers or self.agents:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), grace_s)
        if self._http is not None:
            await self._http.close()
            self._http = None


async def _logout(agent: AgentClient) -> None:
    agent.done = True
    if agent.sig is not None and not agent.sig.closed.is_set():
        with contextlib.suppress(ClientError, TimeoutError):
            await agent.sig.request({"type": "agent_state", "state": "logout"}, timeout_s=3)


async def next_event(client: CustomerClient | AgentClient, names: set[str], timeout_s: float) -> dict[str, Any] | None:
    """The next pushed event named in ``names`` (``ended`` always counts); None on timeout.

    Reads the client's *current* signalling socket, so events after a re-attach are seen."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(0.0, timeout_s)
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            return None
        sig = client.sig
        if sig is None:
            raise StepFailed("signalling.none", "not attached")
        try:
            message = await asyncio.wait_for(sig.events.get(), min(remaining, 2.0))
        except TimeoutError:
            if sig.closed.is_set() and client.done:
                raise StepFailed("signalling.lost", "the site is gone and the call could not re-attach") from None
            continue
        if message["event"] in names or message["event"] == "ended":
            return message


class LoadCustomer(CustomerClient):
    """A customer whose route and attach are timed separately."""

    async def route_only(self) -> None:
        await self.route_call()

    async def attach(self) -> dict[str, Any]:
        return await self.join()

    async def hang_up(self) -> None:
        """Hang up (where the call is now, if its site went away) and wait for the answer."""
        if not await self.hangup(timeout_s=END_WAIT_S):
            raise StepFailed("hangup.refused", "no site took the hang-up")


def caller_number(rng: random.Random) -> str:
    return "139" + "".join(rng.choices(string.digits, k=8))


async def customer_call(ctx: CallContext, media: bool) -> CallOutcome:
    """Route, signalling (and WebRTC), IVR digits, queue with patience, talk, hang up."""
    s, rng = ctx.settings, ctx.rng
    outcome = CallOutcome(media=media)
    client = LoadCustomer(s.central_urls, caller=caller_number(rng), dialled=s.dialled, media=media, http=ctx.http())
    ctx.joined(client)
    ctx.started()
    step, since = "route", time.monotonic()
    try:
        await client.route_only()
        outcome.site, outcome.call_id = client.site, client.call_id
        ctx.step("CALL", "route", since)
        step, since = ("connect_media" if media else "connect"), time.monotonic()
        await client.attach()
        ctx.step("CALL", step, since)
        step, since = "ivr", time.monotonic()
        event: dict[str, Any] | None
        event, queue_entry = await _ivr(ctx, client, media)
        outcome.queued_at = time.time() - (time.monotonic() - queue_entry)
        outcome.ivr_s = round(time.monotonic() - since, 3)
        if event["event"] == "ended":
            return _ended(ctx, outcome, event, step, since)
        ctx.step("CALL", "ivr", since)
        outcome.offered = True
        if event["event"] == "queued":
            step = "queue_wait"
            patience = draw(rng, s.patience_s, s.patience_dist)
            event = await next_event(client, {"connected"}, patience - (time.monotonic() - queue_entry))
            outcome.wait_s = round(time.monotonic() - queue_entry, 3)
            if event is None:
                step, since = "give_up", time.monotonic()
                await _give_up(ctx, client, outcome, queue_entry)
                return outcome
            if event["event"] == "ended":
                return _ended(ctx, outcome, event, step, queue_entry)
        else:
            outcome.wait_s = round(time.monotonic() - queue_entry, 3)
        ctx.step("CALL", "queue_wait", queue_entry)
        step, since = "talk", time.monotonic()
        event = await next_event(client, set(), draw(rng, s.handle_time_s, s.handle_dist))
        outcome.talk_s = round(time.monotonic() - since, 3)
        ctx.step("CALL", "talk", since)
        if event is None:
            step, since = "hangup", time.monotonic()
            await client.hang_up()
            if await next_event(client, set(), END_WAIT_S) is None:
                raise StepFailed("hangup.no_ended", "no 'ended' after hanging up")
            ctx.step("CALL", "hangup", since)
        outcome.outcome = "answered"
        return outcome
    except asyncio.CancelledError:
        outcome.outcome = "unfinished"
        raise
    except Exception as exc:
        if ctx.stopping:
            outcome.outcome = "unfinished"
        else:
            outcome.outcome, outcome.reason = "failed", f"{step}:{error_id(exc)}"
            ctx.step("CALL", step, since, exc)
        return outcome
    finally:
        outcome.reconnects = len(client.reconnects)
        if client.phone is not None:
            outcome.audio_frames = client.phone.receiver.frames
        with contextlib.suppress(Exception):
            await asyncio.shield(client.close())
        ctx.finished()
        ctx.record(outcome)
        ctx.left(client)  # last: shutdown() waits for every client to have left


async def _ivr(ctx: CallContext, client: LoadCustomer, media: bool) -> tuple[dict[str, Any], float]:
    """Press the IVR digits until queued or connected (digits during the welcome are dropped)."""
    s = ctx.settings
    how = s.media_digits if media else "signalling"
    deadline = time.monotonic() + s.ivr_timeout_s
    while time.monotonic() < deadline:
        pressed = time.monotonic()
        await client.press(s.ivr_digits, how=how)
        event = await next_event(client, {"queued", "connected"}, s.digit_interval_s - (time.monotonic() - pressed))
        if event is not None:
            return event, time.monotonic() if event["event"] == "queued" else pressed
    raise StepFailed("ivr.timeout", f"not queued after {s.ivr_timeout_s:g} s")


async def _give_up(ctx: CallContext, client: LoadCustomer, outcome: CallOutcome, queue_entry: float) -> None:
    """Out of patience: ask for a callback (``--callback-prob``) or hang up (abandon)."""
    if ctx.rng.random() < ctx.settings.callback_prob:
        since = time.monotonic()
        try:
            await client.ask_callback()
        except ClientError as exc:
            if exc.error_id != "call.bad_command":  # answered in the same instant: just leave
                raise
        else:
            if await next_event(client, set(), END_WAIT_S) is None:
                raise StepFailed("callback.no_ended", "no 'ended' after asking for a callback")
            client.done = True
            outcome.outcome = "callback"
            ctx.step("CALL", "callback", since)
            return
    await client.hang_up()
    outcome.outcome = "abandoned"
    ctx.step("CALL", "abandon", queue_entry)


def _ended(ctx: CallContext, outcome: CallOutcome, event: dict[str, Any], step: str, since: float) -> CallOutcome:
    """The site ended the call before an answer: overflow, voicemail... or an error (a failure)."""
    reason = str(event.get("data", {}).get("reason"))
    if ctx.stopping:
        outcome.outcome = "unfinished"
    elif reason == "error":
        outcome.outcome, outcome.reason = "failed", f"{step}:site.error"
        ctx.step("CALL", step, since, StepFailed("site.error", "the site ended the call with an error"))
    else:
        outcome.outcome, outcome.reason = "ended_by_site", reason
    return outcome


# ---------------------------------------------------------------- agents
@dataclass(frozen=True)
class AgentSpec:
    agent_id: str
    site: str
    site_url: str


async def agent_shift(ctx: CallContext, spec: AgentSpec, tally: AgentTally, off_duty: Callable[[], bool]) -> None:
    """Log in, go ready, answer after a ring delay, talk, wrap up, take breaks; until off duty."""
    while not off_duty() and not ctx.stopping:
        client = AgentClient(
            spec.site_url, spec.agent_id, ctx.settings.agent_password,
            central_urls=ctx.settings.central_urls, tone_hz=440.0, media=True, http=ctx.http(),
        )  # fmt: skip
        ctx.joined(client)
        at: dict[str, Any] = {"step": "login", "since": time.monotonic()}  # where a failure happened
        try:
            joined = await client.login()
            state = joined.get("agent", {}).get("state")
            tally.logged_in, tally.site = True, str(joined.get("agent", {}).get("site", spec.site))
            ctx.step("AGENT", "login", at["since"])
            if state in (None, "not_ready", "logged_out"):  # after a re-login it may be busy already
                at.update(step="ready", since=time.monotonic())
                await client.ready()
                ctx.step("AGENT", "ready", at["since"])
            await _work(ctx, client, tally, off_duty, at)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not ctx.stopping and not off_duty():
                tally.failures[f"{at['step']}:{error_id(exc)}"] += 1
                ctx.step("AGENT", str(at["step"]), float(at["since"]), exc)
                await asyncio.sleep(2.0)  # then log in again (the site keeps the agent's state)
        finally:
            if off_duty() and not ctx.stopping:
                await _logout(client)
            ctx.left(client)
            with contextlib.suppress(Exception):
                await asyncio.shield(client.close())


async def _work(
    ctx: CallContext, client: AgentClient, tally: AgentTally, off_duty: Callable[[], bool], at: dict[str, Any]
) -> None:
    s, rng = ctx.settings, ctx.rng
    while not off_duty() and not ctx.stopping:
        ringing = await next_event(client, {"ringing"}, 1.0)
        if ringing is None or ringing["event"] != "ringing":
            continue
        call_id = ringing["data"]["call_id"]
        since = time.monotonic()
        at.update(step="answer", since=since)
        await asyncio.sleep(min(draw(rng, s.ring_delay_s, "exp"), RING_TIMEOUT_S - 2.0))
        try:
            await client.answer(call_id)
        except ClientError as exc:
            if exc.error_id not in ("call.bad_command", "call.unknown"):
                raise StepFailed(exc.error_id, f"answer: {exc.message}") from exc
            tally.missed += 1  # the caller left while it rang
            ctx.step("AGENT", "ring_cancelled", since)
            continue
        ctx.step("AGENT", "answer", since)
        since = time.monotonic()
        at.update(step="talk", since=since)
        ended = await next_event(client, {"call_ended"}, 20 * s.handle_time_s + 600.0)
        if ended is None:
            raise StepFailed("talk.timeout", f"call {call_id} did not end")
        ctx.step("AGENT", "talk", since)
        tally.answered += 1
        await asyncio.sleep(min(draw(rng, s.wrap_up_s, "exp"), MAX_WRAP_S))
        on_break = rng.random() < s.break_prob
        if on_break:  # asked during wrap-up: the agent leaves it not ready, so no call is offered
            await client.not_ready(rng.choice(s.break_reasons))
        since = time.monotonic()
        at.update(step="wrap_up", since=since)
        await client.wrap_up("loadtest", f"call {call_id}")
        ctx.step("AGENT", "wrap_up", since)
        if on_break:
            since = time.monotonic()
            at.update(step="break", since=since)
            await asyncio.sleep(draw(rng, s.break_s, "exp"))
            await client.ready()
            tally.breaks += 1
            ctx.step("AGENT", "break", since)
