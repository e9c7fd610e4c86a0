"""Command-line options of the contact-center load test, distributions and arrival schedules.

Every option can also be given in a Locust config file (``--config file.conf``, keys without
the leading dashes) or as ``LOCUST_*`` environment variables, as for Locust's own options.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, Literal

SHAPES = ("users", "constant", "staircase", "burst", "soak")


def add_arguments(parser: Any) -> None:
    """Register the custom arguments (``events.init_command_line_parser``)."""

    def g_add(*names: str, **kwargs: Any) -> None:
        """On Locust's parser itself (its groups do not take include_in_web_ui), with a
        ``LOCUST_<NAME>`` environment variable like Locust's own options."""
        env = "LOCUST_" + names[0].lstrip("-").upper().replace("-", "_")
        parser.add_argument(*names, env_var=env, **kwargs)

    g_add(
        "--central",
        default="http://127.0.0.1:8000,http://127.0.0.1:8001",
        help="central replica URL(s), comma-separated",
        include_in_web_ui=True,
    )
    g_add("--sites", default="", help="site URLs as name=url,...; default: discovered from central GET /v1/sites")
    g_add("--dialled", default="95589", help="number the customers dial", include_in_web_ui=True)
    g_add("--ivr-digits", default="0", help="what customers press in the IVR (repeated until queued)")
    g_add("--digit-interval-s", type=float, default=2.0, help="press again after this long")
    g_add("--ivr-timeout-s", type=float, default=60.0, help="give up (failure) if not queued by then")
    g_add(
        "--media-share",
        type=float,
        default=0.1,
        include_in_web_ui=True,
        help="share of customers with real WebRTC media (0..1); the rest are signalling-only",
    )
    g_add(
        "--media-digits",
        default="tones",
        choices=("tones", "datachannel", "signalling"),
        help="how media customers press digits",
    )
    g_add(
        "--arrival-rate",
        type=float,
        default=0.5,
        include_in_web_ui=True,
        help="target call arrival rate, calls per second (Poisson)",
    )
    g_add(
        "--user-rate",
        type=float,
        default=0.05,
        help="calls per second one customer user generates; users = rate / user-rate",
    )
    g_add(
        "--load-shape",
        default="constant",
        choices=SHAPES,
        include_in_web_ui=True,
        help="users: -u users share --arrival-rate; constant|staircase|burst|soak: users follow the rate",
    )
    g_add("--stair-step-rate", type=float, default=0.5, help="staircase: rate added per step (cps)")
    g_add("--stair-step-s", type=float, default=60.0, help="staircase: seconds per step")
    g_add("--stair-steps", type=int, default=5, help="staircase: number of steps")
    g_add("--burst-factor", type=float, default=10.0, help="burst: rate multiplier during the burst")
    g_add("--burst-at-s", type=float, default=60.0, help="burst: starts after this many seconds")
    g_add("--burst-s", type=float, default=30.0, help="burst: lasts this long")
    g_add("--soak-s", type=float, default=3600.0, help="soak: duration (unless -t is given)")
    g_add("--ramp-s", type=float, default=0.0, help="soak/constant: linear ramp-up of the rate")
    g_add(
        "--drain-s",
        type=float,
        default=30.0,
        help="after the run time: no new calls, live calls may finish for this long",
    )
    g_add(
        "--patience-s",
        type=float,
        default=60.0,
        include_in_web_ui=True,
        help="mean time a caller waits in queue before abandoning",
    )
    g_add("--patience-dist", default="exp", choices=("exp", "fixed"))
    g_add(
        "--handle-time-s",
        type=float,
        default=30.0,
        include_in_web_ui=True,
        help="mean talk time with the agent (the caller hangs up)",
    )
    g_add("--handle-dist", default="exp", choices=("exp", "fixed"))
    g_add(
        "--callback-prob",
        type=float,
        default=0.1,
        help="probability that a caller out of patience asks for a callback instead of hanging up",
    )
    g_add(
        "--agents",
        default="demo:2",
        include_in_web_ui=True,
        help="agents: 'demo:N' (N demo agents with --agent-skill per site), "
        "or 'id@site,...' ('id' alone: the site whose name ends with the id's prefix), or 'none'",
    )
    g_add("--agent-skill", default="credit_card", help="skill of the demo agents picked by demo:N")
    g_add("--agent-password", default="demo", help="password of the agents")
    g_add("--ring-delay-s", type=float, default=1.0, help="mean delay before an agent answers")
    g_add("--wrap-up-s", type=float, default=3.0, help="mean wrap-up time")
    g_add("--break-prob", type=float, default=0.05, help="probability of a break after a call")
    g_add("--break-s", type=float, default=10.0, help="mean break length")
    g_add("--break-reasons", default="break,lunch,training", help="reason codes for breaks")
    g_add("--sl-threshold-s", type=float, default=20.0, help="service level: answered within this")
    g_add("--results-dir", default="", help="where the report goes (default results/<timestamp>)")
    g_add("--seed", type=int, default=0, help="random seed (0: random); workers add their index")  # fmt: skip


@dataclass(frozen=True)
class Settings:
    central_urls: list[str]
    sites: dict[str, str]
    dialled: str
    ivr_digits: str
    digit_interval_s: float
    ivr_timeout_s: float
    media_share: float
    media_digits: str
    arrival_rate: float
    user_rate: float
    load_shape: str
    patience_s: float
    patience_dist: str
    handle_time_s: float
    handle_dist: str
    callback_prob: float
    agents: str
    agent_skill: str
    agent_password: str
    ring_delay_s: float
    wrap_up_s: float
    break_prob: float
    break_s: float
    break_reasons: list[str]
    sl_threshold_s: float
    drain_s: float
    seed: int

    @classmethod
    def from_options(cls, options: Any) -> Settings:
        sites: dict[str, str] = {}
        for item in filter(None, (s.strip() for s in options.sites.split(","))):
            name, _, url = item.partition("=")
            if not url:
                raise ValueError(f"--sites expects name=url, got {item!r}")
            sites[name.strip()] = url.strip().rstrip("/")
        return cls(
            central_urls=[u.strip().rstrip("/") for u in options.central.split(",") if u.strip()],
            sites=sites,
            dialled=options.dialled,
            ivr_digits=options.ivr_digits,
            digit_interval_s=options.digit_interval_s,
            ivr_timeout_s=options.ivr_timeout_s,
            media_share=min(1.0, max(0.0, options.media_share)),
            media_digits=options.media_digits,
            arrival_rate=options.arrival_rate,
            user_rate=options.user_rate,
            load_shape=options.load_shape,
            patience_s=options.patience_s,
            patience_dist=options.patience_dist,
            handle_time_s=options.handle_time_s,
            handle_dist=options.handle_dist,
            callback_prob=options.callback_prob,
            agents=options.agents,
            agent_skill=options.agent_skill,
            agent_password=options.agent_password,
            ring_delay_s=options.ring_delay_s,
            wrap_up_s=options.wrap_up_s,
            break_prob=options.break_prob,
            break_s=options.break_s,
            break_reasons=[r.strip() for r in options.break_reasons.split(",") if r.strip()] or ["break"],
            sl_threshold_s=options.sl_threshold_s,
            drain_s=options.drain_s,
            seed=options.seed,
        )


def draw(rng: random.Random, mean: float, dist: Literal["exp", "fixed"] | str) -> float:
    """A duration with the given mean: exponential (memoryless callers) or fixed."""
    if mean <= 0:
        return 0.0
    return mean if dist == "fixed" else rng.expovariate(1.0 / mean)


# ---------------------------------------------------------------- arrival schedules
@dataclass(frozen=True)
class Schedule:
    """Target arrival rate over time (seconds since the start) and when it ends (None: never)."""

    shape: str
    base: float
    end_s: float | None
    step_rate: float = 0.0
    step_s: float = 60.0
    steps: int = 0
    burst_factor: float = 10.0
    burst_at_s: float = 0.0
    burst_s: float = 0.0
    ramp_s: float = 0.0

    @classmethod
    def from_options(cls, options: Any) -> Schedule:
        run_time = float(options.run_time) if getattr(options, "run_time", None) else None
        shape = options.load_shape
        end: float | None = run_time
        if shape == "staircase" and end is None:
            end = options.stair_steps * options.stair_step_s
        elif shape == "burst" and end is None:
            end = 2 * options.burst_at_s + options.burst_s
        elif shape == "soak" and end is None:
            end = options.soak_s
        return cls(
            shape=shape,
            base=options.arrival_rate,
            end_s=end,
            step_rate=options.stair_step_rate,
            step_s=max(1.0, options.stair_step_s),
            steps=options.stair_steps,
            burst_factor=options.burst_factor,
            burst_at_s=options.burst_at_s,
            burst_s=options.burst_s,
            ramp_s=options.ramp_s,
        )

    def rate(self, t: float) -> float:
        if self.shape == "staircase":
            return self.base + self.step_rate * min(self.steps - 1, max(0, int(t // self.step_s)))
        if self.shape == "burst" and self.burst_at_s <= t < self.burst_at_s + self.burst_s:
            return self.base * self.burst_factor
        if self.ramp_s > 0 and t < self.ramp_s and self.shape in ("constant", "soak"):
            return self.base * max(t, 1.0) / self.ramp_s
        return self.base

    def ended(self, t: float) -> bool:
        return self.end_s is not None and t >= self.end_s


def customer_users(rate: float, user_rate: float) -> int:
    """How many Poisson callers of ``user_rate`` each make up ``rate`` (at least one if rate > 0)."""
    if rate <= 0:
        return 0
    return max(1, math.ceil(rate / max(user_rate, 1e-6) - 1e-9))
