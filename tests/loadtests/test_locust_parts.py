"""The load test's pure parts: arrival schedules, agent roster, the contact-center report.
(None of these import Locust, which would monkey-patch the test process.)"""

from __future__ import annotations

import argparse
import random
import sys

from loadtests.locust_options import Schedule, Settings, add_arguments, customer_users, draw
from loadtests.locust_report import CallOutcome, outcome_dict, summarize, text_summary
from loadtests.locust_setup import agent_roster


class _Parser(argparse.ArgumentParser):
    def add_argument(self, *args, **kwargs):  # type: ignore[no-untyped-def,override]
        kwargs.pop("include_in_web_ui", None)
        kwargs.pop("env_var", None)
        return super().add_argument(*args, **kwargs)


def options(*argv: str) -> argparse.Namespace:
    parser = _Parser()
    add_arguments(parser)
    parser.add_argument("--run-time", type=float, default=None)
    return parser.parse_args(list(argv))


def test_schedules() -> None:
    stairs = Schedule.from_options(options("--load-shape", "staircase", "--arrival-rate", "1",
                                           "--stair-step-rate", "0.5", "--stair-step-s", "10", "--stair-steps", "3"))
    assert [stairs.rate(t) for t in (0, 9.9, 10, 25, 29, 100)] == [1, 1, 1.5, 2, 2, 2]
    assert stairs.end_s == 30 and stairs.ended(30) and not stairs.ended(29.9)
    burst = Schedule.from_options(options("--load-shape", "burst", "--arrival-rate", "2",
                                          "--burst-at-s", "5", "--burst-s", "3", "--run-time", "20"))
    assert [burst.rate(t) for t in (4.9, 5, 7.9, 8)] == [2, 20, 20, 2] and burst.end_s == 20
    soak = Schedule.from_options(options("--load-shape", "soak", "--arrival-rate", "4", "--ramp-s", "10"))
    assert soak.end_s == 3600 and soak.rate(5) == 2 and soak.rate(10) == 4
    assert Schedule.from_options(options()).end_s is None  # constant without -t: until stopped
    assert (customer_users(0.0, 0.05), customer_users(0.5, 0.05), customer_users(0.51, 0.05)) == (0, 10, 11)


def test_draws_have_the_requested_mean() -> None:
    rng = random.Random(3)
    samples = [draw(rng, 10.0, "exp") for _ in range(20_000)]
    assert 9.7 < sum(samples) / len(samples) < 10.3
    assert draw(rng, 7.0, "fixed") == 7.0 and draw(rng, 0.0, "exp") == 0.0


def test_demo_roster_and_explicit_agents() -> None:
    sites = {"branch-north": "http://n", "branch-south": "http://s"}
    roster = agent_roster(Settings.from_options(options("--agents", "demo:2")), sites)
    assert [(a.agent_id, a.site) for a in roster] == [
        ("north-01", "branch-north"), ("north-06", "branch-north"),
        ("south-10", "branch-south"), ("south-07", "branch-south"),
    ]  # fmt: skip
    explicit = agent_roster(Settings.from_options(options("--agents", "north-03,south-02@branch-south")), sites)
    assert [(a.agent_id, a.site, a.site_url) for a in explicit] == [
        ("north-03", "branch-north", "http://n"), ("south-02", "branch-south", "http://s"),
    ]  # fmt: skip
    assert agent_roster(Settings.from_options(options("--agents", "none")), sites) == []


def test_report_in_contact_center_terms() -> None:
    calls = [
        CallOutcome("answered", offered=True, wait_s=5.0, talk_s=30.0, ivr_s=3.0, site="a"),
        CallOutcome("answered", offered=True, wait_s=25.0, talk_s=10.0, ivr_s=3.0, site="a", media=True,
                    audio_frames=400),
        CallOutcome("abandoned", offered=True, wait_s=40.0, ivr_s=3.0, site="b"),
        CallOutcome("failed", reason="route:route.no_site"),
    ]  # fmt: skip
    report = summarize([outcome_dict(c) for c in calls], [], {"local": {"cpu_mean": 0.1}},
                       sl_threshold_s=20.0, settings={}, duration_s=60.0)  # fmt: skip
    c = report["calls"]
    assert (c["placed"], c["offered"], c["answered"], c["abandoned"], c["failed"]) == (4, 3, 2, 1, 1)
    assert c["service_level"] == round(1 / 3, 4) and c["asa_s"] == 15.0 and c["abandon_rate"] == round(1 / 3, 4)
    assert c["failed_by_reason"] == {"route:route.no_site": 1} and c["media_audio_frames_min"] == 400
    text = text_summary(report)
    assert "service level 33.3%" in text and "route:route.no_site x1" in text
    assert "locust" not in sys.modules  # nothing here pulled Locust (and gevent) in
