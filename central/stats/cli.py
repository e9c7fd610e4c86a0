"""``callcenter stats``: compute interval KPIs and staffing over the sites' CDRs, on Ray.

Example::

    callcenter stats --site north=sqlite:///data/north.db \\
        --site south=postgresql://stats@db-south/callcenter \\
        --from 2026-11-01 --to 2026-11-07 --interval 15 --sl-threshold 20 --sl-target 0.8 \\
        --out results/stats

writes ``results/stats/stats.json`` and ``results/stats/report.html``; ``--store-url`` also
writes the aggregates into that database's ``stats_aggregates`` table.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import click

from central.stats.errors import StatsError
from central.stats.export import FORMATS, write_exports
from central.stats.job import StatsResult, run_local, run_ray
from central.stats.params import ABANDON_TREATMENTS, KpiParams
from central.stats.report import store_aggregates, write_report
from central.stats.sources import CallSource, DatabaseSource
from central.stats.staffing import staffing_table


def _parse_sites(values: tuple[str, ...]) -> dict[str, CallSource]:
    sites: dict[str, CallSource] = {}
    for value in values:
        name, sep, url = value.partition("=")
        name, url = name.strip(), url.strip()
        if not sep or not name or not url:
            raise click.BadParameter(f"expected NAME=URL, got {value!r}", param_hint="--site")
        if name in sites:
            raise click.BadParameter(f"site {name!r} given twice", param_hint="--site")
        sites[name] = DatabaseSource(url)
    return sites


def _date(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value is not None else None


@click.command("stats")
@click.option("--site", "sites", multiple=True, required=True, metavar="NAME=URL",
              help="A site and its database URL (sqlite:///file.db or postgresql://...).")
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="First day (UTC), inclusive. Default: the earliest call found.")
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Last day (UTC), inclusive. Default: the latest call found.")
@click.option("--interval", type=click.Choice(["15", "30"]), default="15", show_default=True,
              help="Interval length in minutes.")
@click.option("--sl-threshold", type=float, default=20.0, show_default=True,
              help="Service-level threshold in seconds.")
@click.option("--sl-target", type=float, default=0.8, show_default=True,
              help="Target service level (0..1), for staffing.")
@click.option("--abandon-treatment", type=click.Choice(ABANDON_TREATMENTS),
              default="negative", show_default=True,
              help="How abandons count in the service level.")
@click.option("--short-abandon", type=float, default=5.0, show_default=True,
              help="Queue abandons within this many seconds are not counted as abandoned.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("results/stats"), show_default=True,
              help="Directory for stats.json and report.html.")
@click.option("--ray-address", default=None,
              help="Address of a Ray cluster to join; default: start a local Ray.")
@click.option("--num-cpus", type=int, default=None,
              help="CPUs for a local Ray (default: all).")
@click.option("--local", "local", is_flag=True,
              help="Compute in this process with pandas, without Ray.")
@click.option("--store-url", default=None,
              help="Also write the aggregates into stats_aggregates of this database.")
@click.option("--erlang-a/--no-erlang-a", default=True, show_default=True,
              help="Erlang A staffing where patience can be estimated (slower).")
@click.option("--export", "exports", multiple=True, type=click.Choice(FORMATS),
              help="Also write every report table (interval, queue, site, agent) as CSV or XLSX.")
@click.option("--quiet", is_flag=True, help="No progress lines.")
def stats_command(
    sites: tuple[str, ...],
    first: dt.datetime | None,
    last: dt.datetime | None,
    interval: str,
    sl_threshold: float,
    sl_target: float,
    abandon_treatment: str,
    short_abandon: float,
    out_dir: Path,
    ray_address: str | None,
    num_cpus: int | None,
    local: bool,
    store_url: str | None,
    erlang_a: bool,
    exports: tuple[str, ...],
    quiet: bool,
) -> None:
    """Interval KPIs, staffing and an HTML report over the sites' call detail records."""
    sources = _parse_sites(sites)
    try:
        params = KpiParams(
            interval_s=int(interval) * 60,
            sl_threshold_s=sl_threshold,
            sl_target=sl_target,
            abandon_treatment=abandon_treatment,  # type: ignore[arg-type]
            short_abandon_s=short_abandon,
        )
        progress = None if quiet else (lambda line: click.echo(line, err=True))
        result: StatsResult
        if local:
            result = run_local(sources, _date(first), _date(last), params, progress=progress)
        else:
            init: dict[str, Any] = {} if num_cpus is None else {"num_cpus": num_cpus}
            result = run_ray(
                sources, _date(first), _date(last), params,
                address=ray_address, init_kwargs=init, progress=progress,
            )
        staffing = staffing_table(result.kpis, params, erlang_a=erlang_a)
        paths = write_report(out_dir, result, staffing)
        urls = {site: src.url for site, src in sources.items() if isinstance(src, DatabaseSource)}
        for path in write_exports(out_dir, result, exports, urls):
            click.echo(f"wrote {path}", err=True)
        if store_url:
            n = store_aggregates(store_url, result, time.time())
            click.echo(f"stored {n} aggregate rows", err=True)
    except StatsError as exc:
        raise click.ClickException(str(exc)) from exc
    total = sum(result.rows.values())
    click.echo(
        f"{total:,} records from {len(result.sites)} site(s), {result.first_day} .. "
        f"{result.last_day}, in {result.elapsed_s:.1f} s: {paths['html']} {paths['json']}"
    )
    for site, reason in result.missing.items():
        click.echo(f"MISSING site {site}: {reason}", err=True)
    for site, n in result.never_joined.items():
        click.echo(f"routed but never joined at {site}: {n} (not in the KPIs)", err=True)
    for site, reasons in result.malformed.items():
        listed = ", ".join(f"{r}={n}" for r, n in reasons.items())
        click.echo(f"malformed records skipped at {site}: {listed}", err=True)
