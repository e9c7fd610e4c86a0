"""``python -m loadtests.chaos [--short] --json PATH``: chaos under load, then the checker.

The short schedule applies one fault of each kind (kill a site, pause a site past its lease,
kill the central leader, kill an etcd member, cut a site off); the full run three rounds;
``--rolling`` a rolling upgrade (each site, then each central, leader last, SIGTERM and start).
Exits non-zero if any invariant is violated.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from loadtests.chaos.runner import passed, run


def text_summary(summary: dict[str, object]) -> str:
    lines = [
        f"calls {summary['calls']}: lost {summary['lost_calls']}, double-routed {summary['double_routed']}, "
        f"duplicated outcomes {summary['duplicated_outcomes']}, lost queue positions {summary['lost_queue_positions']}",
        f"faults {summary['faults']}: worst recovery {summary['worst_recovery_s']} s, worst SL dip {summary['sl_dip']}",
        f"calls reconnected after a failover: {summary['calls_reconnected']}",
        f"site deaths confirmed by probe: {summary['deaths_confirmed_by_probe']}, "
        f"false failovers {summary['false_failovers']}",
    ]
    for fault in summary["fault_details"]:  # type: ignore[attr-defined]
        lines.append(f"  {fault['kind']:<17} {fault['target']:<14} recovered in {fault['recovery_s']} s, "
                     f"SL dip {fault['sl_dip']}")
    bad = summary["bad_input"]
    lines.append(f"bad input: {bad['cases']} cases, {len(bad['failures'])} failures")  # type: ignore[index]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", action="store_true", help="one fault of each kind")
    parser.add_argument("--rolling", action="store_true",
                        help="a rolling upgrade instead: every site, then every central, restarted in turn")
    parser.add_argument("--json", dest="json_path", required=True)
    parser.add_argument("--results-dir", default=None, help="where Locust's report and logs go")
    parser.add_argument("--rate", type=float, default=0.4,
                        help="call arrival rate (calls per second); 6 agents answer about 0.6 cps")
    args = parser.parse_args()
    summary = run(args.short, Path(args.results_dir) if args.results_dir else None, args.rate, rolling=args.rolling)
    Path(args.json_path).write_text(json.dumps(summary, indent=2, default=str) + "\n")
    print(text_summary(summary))
    ok = passed(summary)
    print("PASS" if ok else "FAIL: an invariant was violated (see the JSON)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
