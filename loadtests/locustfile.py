"""Locust load test of the contact center with real callers and agents (see loadtests/README.md).

    python -m locust -f loadtests/locustfile.py --headless -t 2m --arrival-rate 1 \\
        --central http://127.0.0.1:8000,http://127.0.0.1:8001

Users: ``Customer`` users are Poisson call sources (each places calls at the per-user rate the
shape publishes; the calls run on the process's asyncio loop and outlive the user that placed
them), ``Agent`` users are the staffed agents (``fixed_count`` = the ``--agents`` roster). The
``CallShape`` turns the target arrival rate (constant, staircase, 10x burst, soak) into users,
then drains: no new calls, live calls may finish. The report (JSON + text) is written at the end
by the master (or the only process) under ``--results-dir``.
"""

from __future__ import annotations

import logging
import math
import os
import random
import time
from pathlib import Path
from typing import Any

import gevent
from locust import LoadTestShape, User, constant, events, task
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from loadtests.locust_bridge import AsyncBridge
from loadtests.locust_calls import AgentSpec, CallContext, agent_shift, customer_call
from loadtests.locust_options import Schedule, Settings, add_arguments, customer_users
from loadtests.locust_report import AgentTally, CallOutcome, agent_dict, outcome_dict, summarize, write_report
from loadtests.locust_setup import agent_roster, discover_sites

_log = logging.getLogger("loadtests.locust")
SOURCE_SPAWN_RATE = 100.0  # users per second when the shape follows an arrival rate


class ProcessState:
    """What this Locust process knows (one instance per process)."""

    def __init__(self) -> None:
        self.env: Environment | None = None
        self.settings: Settings | None = None
        self.bridge: AsyncBridge | None = None
        self.ctx: CallContext | None = None
        self.rng = random.Random()
        self.per_user_rate = 0.0
        self.placed = 0
        self.started_at = time.time()
        self.results_dir: Path | None = None
        # controller (master or local): the roster and what every generator reported
        self.roster: list[AgentSpec] = []
        self.claimed: dict[str, str] = {}  # agent_id -> worker id
        self.calls: list[dict[str, Any]] = []
        self.tallies: dict[str, dict[str, Any]] = {}
        self.generators: dict[str, dict[str, Any]] = {}
        self.in_flight: dict[str, int] = {}
        # generator (worker or local)
        self.unsent: list[dict[str, Any]] = []
        self.local_tallies: dict[str, AgentTally] = {}
        self.grants: dict[int, dict[str, Any] | None] = {}
        self.requests = 0

    @property
    def is_controller(self) -> bool:
        return not isinstance(self.env and self.env.runner, WorkerRunner)

    @property
    def is_generator(self) -> bool:
        return not isinstance(self.env and self.env.runner, MasterRunner)

    @property
    def name(self) -> str:
        runner = self.env.runner if self.env else None
        return f"worker-{runner.worker_index}" if isinstance(runner, WorkerRunner) else "local"

    # ---- generator side ----------------------------------------------------------------------
    def fire(self, kind: str, name: str, ms: float, error: BaseException | None) -> None:
        assert self.env is not None
        self.env.events.request.fire(
            request_type=kind, name=name, response_time=ms, response_length=0, exception=error, context={}
        )

    def recorded(self, outcome: CallOutcome) -> None:
        self.unsent.append(outcome_dict(outcome))

    def place_call(self) -> None:
        assert self.bridge is not None and self.ctx is not None and self.settings is not None
        share = self.settings.media_share
        k, self.placed = self.placed, self.placed + 1
        media = math.floor((k + 1) * share + 1e-9) > math.floor(k * share + 1e-9)  # exact share, spread evenly
        self.bridge.spawn(customer_call(self.ctx, media))

    def shipment(self) -> dict[str, Any]:
        """New call records and current tallies/metrics, for the controller."""
        calls, self.unsent = self.unsent, []
        assert self.bridge is not None
        return {
            "calls": calls,
            "agents": {aid: agent_dict(t) for aid, t in self.local_tallies.items()},
            "generator": self.bridge.metrics.summary(),
            "in_flight": self.bridge.metrics.in_flight,
        }

    # ---- controller side ---------------------------------------------------------------------
    def source_name(self, client_id: str) -> str:
        runner = self.env.runner if self.env else None
        if isinstance(runner, MasterRunner) and client_id in runner.worker_indexes:
            return f"worker-{runner.worker_indexes[client_id]}"
        return client_id

    def receive(self, source: str, data: dict[str, Any]) -> None:
        source = self.source_name(source)
        self.calls.extend(data["calls"])
        self.tallies.update(data["agents"])
        self.generators[source] = data["generator"]
        self.in_flight[source] = data["in_flight"]

    def calls_in_flight(self) -> int:
        if self.is_generator and self.bridge is not None:
            return self.bridge.metrics.in_flight
        return sum(self.in_flight.values())

    def claim(self, worker: str) -> AgentSpec | None:
        for spec in self.roster:
            if spec.agent_id not in self.claimed:
                self.claimed[spec.agent_id] = worker
                return spec
        return None

    def write(self) -> None:
        assert self.settings is not None and self.env is not None
        out = self.results_dir or Path("results") / time.strftime("%Y%m%d-%H%M%S")
        report = summarize(
            self.calls,
            list(self.tallies.values()),
            self.generators,
            sl_threshold_s=self.settings.sl_threshold_s,
            settings={k: v for k, v in vars(self.settings).items() if k != "agent_password"},
            duration_s=time.time() - self.started_at,
        )
        write_report(out, report, self.env, calls=self.calls)
        _log.info("contact-center report written to %s", out)
        print((out / "summary.txt").read_text(), flush=True)


STATE = ProcessState()


# ---------------------------------------------------------------- users
class Customer(User):
    """A Poisson source of calls at the published per-user rate (calls do not block it)."""

    weight = 1

    def on_start(self) -> None:
        self._due = False  # no arrival at spawn time: the first one comes after an exponential gap

    def wait_time(self) -> float:
        rate = STATE.per_user_rate
        gap = STATE.rng.expovariate(rate) if rate > 0 else math.inf
        self._due = gap <= 1.0  # memoryless: a longer gap is one idle second, then a fresh draw
        return min(gap, 1.0)

    @task
    def arrive(self) -> None:
        if self._due and STATE.ctx is not None and not STATE.ctx.stopping:
            STATE.place_call()


class Agent(User):
    """One agent of the roster, for the whole test (the shift runs on the asyncio loop)."""

    fixed_count = 0
    wait_time = constant(1.0)

    def on_start(self) -> None:
        self._off = False
        self.spec = claim_agent()
        if self.spec is None or STATE.ctx is None or STATE.bridge is None:
            return
        tally = STATE.local_tallies.setdefault(self.spec.agent_id, AgentTally(self.spec.agent_id, self.spec.site))
        STATE.bridge.spawn(agent_shift(STATE.ctx, self.spec, tally, lambda: self._off))

    @task
    def on_duty(self) -> None:
        """The agent's work happens on the loop; this task only keeps the user alive."""

    def on_stop(self) -> None:
        self._off = True
        if self.spec is not None:
            release_agent(self.spec.agent_id)


def claim_agent() -> AgentSpec | None:
    runner = STATE.env.runner if STATE.env else None
    if not isinstance(runner, WorkerRunner):
        return STATE.claim("local")
    STATE.requests += 1
    request = STATE.requests
    runner.send_message("cc_claim", {"request": request, "worker": runner.client_id})
    deadline = time.monotonic() + 15.0
    while request not in STATE.grants and time.monotonic() < deadline:
        gevent.sleep(0.05)
    granted = STATE.grants.pop(request, None)
    return None if granted is None else AgentSpec(**granted)


def release_agent(agent_id: str) -> None:
    runner = STATE.env.runner if STATE.env else None
    if isinstance(runner, WorkerRunner):
        runner.send_message("cc_release", {"agent_id": agent_id})
    else:
        STATE.claimed.pop(agent_id, None)


# ---------------------------------------------------------------- load shape
class CallShape(LoadTestShape):
    """Arrival rate -> users (``--load-shape``), then a drain; reads -u/-r/-t itself."""

    use_common_options = True

    def __init__(self) -> None:
        super().__init__()
        self._drain_from: float | None = None
        self._published: tuple[float, float] = (-1.0, 0.0)

    def reset_time(self) -> None:
        super().reset_time()
        self._drain_from = None

    def tick(self) -> tuple[int, float] | None:
        assert self.runner is not None
        opts: Any = self.runner.environment.parsed_options
        t = self.get_run_time()
        agents = Agent.fixed_count
        spawn_rate = float(opts.spawn_rate or 1)
        if opts.load_shape != "users":  # Poisson sources are cheap: follow the rate promptly
            spawn_rate = max(spawn_rate, SOURCE_SPAWN_RATE)
        if opts.load_shape == "users":
            customers = max(0, (opts.num_users or agents + 1) - agents)
            rate = opts.arrival_rate
            ended = bool(opts.run_time) and t >= float(opts.run_time)
        else:
            schedule = Schedule.from_options(opts)
            rate = schedule.rate(t)
            customers = customer_users(rate, opts.user_rate)
            ended = schedule.ended(t)
        if not ended:
            self._publish(rate / customers if customers else 0.0)
            return agents + customers, spawn_rate
        self._publish(0.0)
        if self._drain_from is None:
            self._drain_from = t
            _log.info("arrivals stopped at %.0f s; draining live calls (up to %.0f s)", t, opts.drain_s)
        draining = t - self._drain_from
        if draining >= opts.drain_s or (draining >= 2.0 and STATE.calls_in_flight() == 0):
            return None
        return agents, spawn_rate

    def _publish(self, per_user: float) -> None:
        value, at = self._published
        if value == per_user and time.monotonic() - at < 5.0:
            return
        self._published = (per_user, time.monotonic())
        assert self.runner is not None
        if isinstance(self.runner, MasterRunner):
            self.runner.send_message("cc_rate", {"per_user": per_user})
        else:
            STATE.per_user_rate = per_user


# ---------------------------------------------------------------- events
@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    add_arguments(parser)


@events.init.add_listener
def _init(environment: Environment, **_: Any) -> None:
    STATE.env = environment
    runner = environment.runner
    if environment.parsed_options is None or runner is None:
        return
    if STATE.is_controller:
        settings = Settings.from_options(environment.parsed_options)
        STATE.roster = agent_roster(settings, discover_sites(settings)) if settings.agents != "none" else []
        Agent.fixed_count = len(STATE.roster)
        if not STATE.roster:  # fixed_count 0 would make Agent a weighted class: leave it out
            environment.user_classes = [c for c in environment.user_classes if c is not Agent]
        _log.info("agent roster: %s", ", ".join(f"{a.agent_id}@{a.site}" for a in STATE.roster) or "none")
    if isinstance(runner, MasterRunner):
        runner.register_message("cc_claim", _on_claim)
        runner.register_message("cc_release", lambda msg, **_: STATE.claimed.pop(msg.data["agent_id"], None))
        runner.register_message("cc_final", lambda msg, **_: STATE.receive(msg.node_id, msg.data))
    if isinstance(runner, WorkerRunner):
        runner.register_message("cc_rate", _on_rate)
        runner.register_message("cc_agent", _on_grant)
    if STATE.is_generator:
        STATE.bridge = AsyncBridge()
        gevent.spawn(_drain_forever)


def _on_claim(environment: Environment, msg: Any, **_: Any) -> None:
    spec = STATE.claim(msg.data["worker"])
    reply = {"request": msg.data["request"], "agent": None if spec is None else vars(spec)}
    assert isinstance(environment.runner, MasterRunner)
    environment.runner.send_message("cc_agent", reply, client_id=msg.node_id)


def _on_rate(environment: Environment, msg: Any, **_: Any) -> None:
    STATE.per_user_rate = float(msg.data["per_user"])


def _on_grant(environment: Environment, msg: Any, **_: Any) -> None:
    STATE.grants[msg.data["request"]] = msg.data["agent"]


def _drain_forever() -> None:
    while True:
        if STATE.bridge is not None:
            STATE.bridge.drain()
        gevent.sleep(0.05)


@events.test_start.add_listener
def _test_start(environment: Environment, **_: Any) -> None:
    assert environment.parsed_options is not None
    settings = Settings.from_options(environment.parsed_options)
    STATE.settings, STATE.started_at = settings, time.time()
    STATE.calls, STATE.tallies, STATE.generators, STATE.in_flight, STATE.claimed = [], {}, {}, {}, {}
    if STATE.is_controller:
        chosen = environment.parsed_options.results_dir
        STATE.results_dir = Path(chosen) if chosen else Path("results") / time.strftime("%Y%m%d-%H%M%S")
    if STATE.is_generator and STATE.bridge is not None:
        runner = environment.runner
        index = runner.worker_index if isinstance(runner, WorkerRunner) else 0
        STATE.rng = random.Random(settings.seed + index if settings.seed else None)
        STATE.unsent, STATE.local_tallies, STATE.placed = [], {}, 0
        bridge = STATE.bridge
        STATE.ctx = CallContext(
            settings,
            step_sink=lambda *args: bridge.report(STATE.fire, *args),
            record=lambda outcome: bridge.report(STATE.recorded, outcome),
            started=bridge.call_started,
            finished=bridge.call_finished,
            rng=random.Random(STATE.rng.random()),
        )


@events.report_to_master.add_listener
def _report_to_master(data: dict[str, Any], **_: Any) -> None:
    if STATE.bridge is not None and STATE.ctx is not None:
        data["cc"] = STATE.shipment()


@events.worker_report.add_listener
def _worker_report(client_id: str, data: dict[str, Any], **_: Any) -> None:
    if "cc" in data:
        STATE.receive(client_id, data["cc"])


@events.test_stop.add_listener
def _test_stop(environment: Environment, **_: Any) -> None:
    if STATE.is_generator and STATE.bridge is not None and STATE.ctx is not None:
        ctx = STATE.ctx
        STATE.bridge.run(ctx.shutdown())
        STATE.bridge.run(STATE.bridge.cancel_all())  # whatever did not end by itself
        STATE.bridge.drain()
        shipment = STATE.shipment()
        if isinstance(environment.runner, WorkerRunner):
            environment.runner.send_message("cc_final", shipment)
        else:
            STATE.receive(STATE.name, shipment)
        STATE.ctx = None
    if STATE.is_controller and STATE.settings is not None:
        STATE.write()


@events.quit.add_listener
def _quit(exit_code: int, **_: Any) -> None:
    """Locust may hang at exit with our OS thread alive: leave right away."""
    if STATE.bridge is not None:
        STATE.bridge.stop()
    logging.shutdown()
    os._exit(exit_code)
