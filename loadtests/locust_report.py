"""The load test's own report in contact-center terms, from what the simulated callers saw.

Each call ends as one :class:`CallOutcome`; agents add :class:`AgentTally` counts. Workers ship
their records to the master (Locust custom messages), so the master's report covers the whole
distributed test. Definitions (``--sl-threshold-s`` T):

* placed: calls the load started (a route was asked for);
* offered: calls that reached the queue or an agent (the IVR finished);
* answered / abandoned (caller out of patience, hung up) / callback (caller out of patience,
  asked to be called back) / ended_by_site (the site ended it before an answer: overflow,
  voicemail...) / failed (an error: by reason) / unfinished (still live when the test stopped);
* service level = answered within T of entering the queue / offered;
* ASA = mean time from entering the queue to the answer, over answered calls.
"""

from __future__ import annotations

import csv
import json
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

OUTCOMES = ("answered", "abandoned", "callback", "ended_by_site", "failed", "unfinished")


@dataclass
class CallOutcome:
    outcome: str = "unfinished"
    call_id: str | None = None
    queued_at: float | None = None  # wall clock when the call reached the queue (or an agent)
    reconnects: int = 0  # times the caller re-attached after losing its site
    media: bool = False
    site: str | None = None
    offered: bool = False
    wait_s: float | None = None  # queue entry -> answer (answered) or -> giving up
    ivr_s: float | None = None
    talk_s: float | None = None
    reason: str | None = None  # failed: "<step>:<error_id>"; ended_by_site: the site's end reason
    audio_frames: int = 0  # media calls: 20 ms frames heard from the site (prompts, music, agent)
    started_at: float = field(default_factory=time.time)


@dataclass
class AgentTally:
    agent_id: str
    site: str | None = None
    logged_in: bool = False
    answered: int = 0
    missed: int = 0  # the caller left while it rang
    breaks: int = 0
    failures: Counter[str] = field(default_factory=Counter)


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 3) if values else None


def summarize(
    calls: list[dict[str, Any]],
    agents: list[dict[str, Any]],
    generators: dict[str, dict[str, Any]],
    *,
    sl_threshold_s: float,
    settings: dict[str, Any],
    duration_s: float,
) -> dict[str, Any]:
    by = Counter(c["outcome"] for c in calls)
    offered = [c for c in calls if c["offered"]]
    answered = [c for c in calls if c["outcome"] == "answered"]
    waits = [c["wait_s"] for c in answered if c["wait_s"] is not None]
    within = sum(1 for w in waits if w <= sl_threshold_s)
    failed = Counter(c["reason"] or "unknown" for c in calls if c["outcome"] == "failed")
    by_site = Counter(c["reason"] or "unknown" for c in calls if c["outcome"] == "ended_by_site")
    abandon_waits = [c["wait_s"] for c in calls if c["outcome"] == "abandoned" and c["wait_s"] is not None]
    agent_failures: Counter[str] = Counter()
    for agent in agents:
        agent_failures.update(agent["failures"])
    return {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "duration_s": round(duration_s, 1),
        "settings": settings,
        "calls": {
            "placed": len(calls),
            "offered": len(offered),
            **{name: by.get(name, 0) for name in OUTCOMES},
            "media_calls": sum(1 for c in calls if c["media"]),
            "media_audio_frames_min": min((c["audio_frames"] for c in calls if c["media"]), default=None),
            "service_level": round(within / len(offered), 4) if offered else None,
            "sl_threshold_s": sl_threshold_s,
            "answered_within_sl": within,
            "asa_s": _mean(waits),
            "max_answer_wait_s": round(max(waits), 3) if waits else None,
            "abandon_rate": round(by.get("abandoned", 0) / len(offered), 4) if offered else None,
            "avg_time_to_abandon_s": _mean(abandon_waits),
            "avg_ivr_s": _mean([c["ivr_s"] for c in calls if c["ivr_s"] is not None]),
            "avg_talk_s": _mean([c["talk_s"] for c in answered if c["talk_s"] is not None]),
            "failed_by_reason": dict(failed.most_common()),
            "ended_by_site_by_reason": dict(by_site.most_common()),
            "by_site": dict(Counter(c["site"] or "-" for c in calls).most_common()),
        },
        "agents": {
            "count": len(agents),
            "logged_in": sum(1 for a in agents if a["logged_in"]),
            "answered": sum(a["answered"] for a in agents),
            "missed": sum(a["missed"] for a in agents),
            "breaks": sum(a["breaks"] for a in agents),
            "failed_by_reason": dict(agent_failures.most_common()),
            "per_agent": {a["agent_id"]: {k: a[k] for k in ("site", "answered", "missed", "breaks")} for a in agents},
        },
        "generators": generators,
    }


def text_summary(report: dict[str, Any]) -> str:
    c, a = report["calls"], report["agents"]

    def pct(x: float | None) -> str:
        return "-" if x is None else f"{100 * x:.1f}%"

    lines = [
        f"Contact-center load test report ({report['generated_at']}, {report['duration_s']} s)",
        f"  calls placed {c['placed']}, offered {c['offered']}, answered {c['answered']}, "
        f"abandoned {c['abandoned']}, callbacks {c['callback']}, ended by site {c['ended_by_site']}, "
        f"failed {c['failed']}, unfinished {c['unfinished']} ({c['media_calls']} with real media)",
        f"  service level {pct(c['service_level'])} answered within {c['sl_threshold_s']:g} s; "
        f"ASA {c['asa_s']} s (max {c['max_answer_wait_s']} s); abandon rate {pct(c['abandon_rate'])}",
        f"  mean IVR {c['avg_ivr_s']} s, mean talk {c['avg_talk_s']} s",
        f"  agents {a['logged_in']}/{a['count']} logged in: answered {a['answered']}, missed {a['missed']}, "
        f"breaks {a['breaks']}",
    ]
    if c["failed_by_reason"]:
        lines.append("  failed calls: " + ", ".join(f"{k} x{v}" for k, v in c["failed_by_reason"].items()))
    if c["ended_by_site_by_reason"]:
        lines.append("  ended by site: " + ", ".join(f"{k} x{v}" for k, v in c["ended_by_site_by_reason"].items()))
    if a["failed_by_reason"]:
        lines.append("  agent failures: " + ", ".join(f"{k} x{v}" for k, v in a["failed_by_reason"].items()))
    for name, gen in report["generators"].items():
        lines.append(
            f"  generator {name}: cpu mean {gen.get('cpu_mean')} max {gen.get('cpu_max')} of a core, "
            f"loop lag p99 {gen.get('loop_lag_p99_ms')} ms max {gen.get('loop_lag_max_ms')} ms, "
            f"peak calls in flight {gen.get('calls_in_flight_peak')}"
        )
    return "\n".join(lines) + "\n"


def write_report(results_dir: Path, report: dict[str, Any], environment: Any | None = None, *,
                 calls: list[dict[str, Any]] | None = None) -> None:
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "report.json").write_text(json.dumps(report, indent=2, default=str))
    if calls is not None:  # one line per call, as the caller saw it (read by the chaos checker)
        (results_dir / "calls.jsonl").write_text("".join(json.dumps(c, default=str) + "\n" for c in calls))
    (results_dir / "summary.txt").write_text(text_summary(report))
    if environment is not None:
        _write_locust_csv(results_dir, environment)


def _write_locust_csv(results_dir: Path, environment: Any) -> None:
    """Locust's request and failure tables (also when --csv was not given)."""
    from locust.stats import PERCENTILES_TO_REPORT, StatsCSV

    writer = StatsCSV(environment, PERCENTILES_TO_REPORT)
    with open(results_dir / "locust_stats.csv", "w", newline="") as f:
        writer.requests_csv(csv.writer(f))
    with open(results_dir / "locust_failures.csv", "w", newline="") as f:
        writer.failures_csv(csv.writer(f))


def outcome_dict(outcome: CallOutcome) -> dict[str, Any]:
    return asdict(outcome)


def agent_dict(tally: AgentTally) -> dict[str, Any]:
    data = asdict(tally)
    data["failures"] = dict(tally.failures)
    return data
