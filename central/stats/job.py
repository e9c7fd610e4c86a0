"""The statistics job: one Ray task per (site, day), one merge task per site; and its baseline.

:func:`run_ray` probes every site (one small task each), then submits one task per site and
UTC day. Each task reads that site's calls of that day where the data lives and returns a
:class:`~central.stats.kpi.Partial`. When a site's days are done, one more task (on the same
node) merges its partials exactly and builds its KPI rows as compact columns
(:class:`~central.stats.table.KpiColumns`: numbers, text as codes); the driver only maps those
(zero-copy), concatenates them and builds the ``DataFrame`` once. On a cluster whose nodes
advertise a custom resource ``site:<name>`` a site's tasks request a sliver of it, so they run
on that site's node. A site whose database cannot be read is reported in
``StatsResult.missing`` (with the reason) and left out; the others are computed. Malformed
records are counted per site and reason (``StatsResult.malformed``); calls that were routed but
never joined are left out of the KPIs and counted per site (``StatsResult.never_joined``).

:func:`run_local` computes the same result in one process with pandas (one pass per site over
all its rows, then the same merge, KPI and assembly code): the baseline of the benchmark and
of the equality tests.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import ray

from central.stats.errors import BadStatsInput, StatsError
from central.stats.kpi import Partial, compute_partial, merge_partials
from central.stats.params import KpiParams
from central.stats.rollup import kpi_columns
from central.stats.sources import DAY_S, CallSource, SiteProbe, day_of, day_start
from central.stats.table import KpiColumns

Progress = Callable[[str], None]


@dataclass(slots=True)
class StatsResult:
    """Everything a run computed, and what it could not."""

    params: KpiParams
    first_day: dt.date | None
    last_day: dt.date | None
    kpis: pd.DataFrame
    missing: dict[str, str] = field(default_factory=dict)
    malformed: dict[str, dict[str, int]] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    never_joined: dict[str, int] = field(default_factory=dict)  # per site; not in any KPI
    sites: list[str] = field(default_factory=list)
    tasks: int = 0
    nodes: set[str] = field(default_factory=set)
    placement: dict[str, set[str]] = field(default_factory=dict)  # site -> node ids of its tasks
    elapsed_s: float = 0.0


@dataclass(slots=True)
class _Outcome:
    site: str
    day: dt.date | None
    probe: SiteProbe | None = None
    error: str | None = None
    node: str = ""
    seconds: float = 0.0
    rows: int = 0
    malformed: int = 0


@dataclass(slots=True)
class _SiteFinal:
    """KPI rows of one site (sites share no key, so these concatenate exactly).

    Compact columns (numbers, text as codes): a Ray driver maps them without decoding.
    """

    kpis: KpiColumns
    malformed: Counter[tuple[str, str]]
    rows: Counter[str]
    never_joined: Counter[str]


def _describe_error(exc: BaseException) -> str:
    if isinstance(exc, StatsError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


def _node_id() -> str:
    if not ray.is_initialized():  # the local path: asking Ray would start it
        return "local"
    return str(ray.get_runtime_context().get_node_id())


def _probe(site: str, source: CallSource) -> _Outcome:
    t0 = time.perf_counter()
    try:
        probe = source.probe()
    except Exception as exc:  # reported as a missing site, never raised
        return _Outcome(site, None, error=_describe_error(exc), node=_node_id())
    return _Outcome(site, None, probe=probe, node=_node_id(), seconds=time.perf_counter() - t0)


def _partition(
    site: str, source: CallSource, day: dt.date, last: dt.date, params: KpiParams
) -> tuple[_Outcome, Partial | None]:
    """Partial aggregates of ``site``'s calls arriving from ``day`` to ``last`` (inclusive)."""
    t0 = time.perf_counter()
    try:
        df = source.load(day_start(day), day_start(last) + DAY_S)
        partial = compute_partial(df, site, params)
    except Exception as exc:  # reported as a missing site, never raised
        return _Outcome(site, day, error=f"{day}: {_describe_error(exc)}", node=_node_id()), None
    out = _Outcome(
        site,
        day,
        node=_node_id(),
        seconds=time.perf_counter() - t0,
        rows=sum(partial.rows.values()),
        malformed=sum(partial.malformed.values()),
    )
    return out, partial


def _site_final(params: KpiParams, *parts: Partial) -> _SiteFinal:
    """Merge one site's partials and build its KPI rows."""
    merged = merge_partials(list(parts), params)
    return _SiteFinal(kpi_columns(merged, params).compact(), merged.malformed, merged.rows, merged.never_joined)


_probe_task = ray.remote(num_cpus=1, max_retries=1)(_probe)
_partition_task = ray.remote(num_cpus=1, max_retries=1, num_returns=2)(_partition)
_final_task = ray.remote(num_cpus=1, max_retries=1)(_site_final)


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    if last < first:
        raise BadStatsInput(f"the date range is empty: {first} .. {last}", key="to")
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def _range(
    probes: Mapping[str, SiteProbe], first: dt.date | None, last: dt.date | None
) -> tuple[dt.date | None, dt.date | None]:
    lows = [p.first_arrival for p in probes.values() if p.first_arrival is not None]
    highs = [p.last_arrival for p in probes.values() if p.last_arrival is not None]
    if first is None and lows:
        first = day_of(min(lows))
    if last is None and highs:
        last = day_of(max(highs))
    if first is not None and last is None:
        last = first
    if last is not None and first is None:
        first = last
    return first, last


def _site_days(probe: SiteProbe, first: dt.date, last: dt.date) -> list[dt.date]:
    """The days of ``[first, last]`` in which the site has data at all."""
    if probe.first_arrival is None or probe.last_arrival is None:
        return []
    lo = max(first, day_of(probe.first_arrival))
    hi = min(last, day_of(probe.last_arrival))
    return _days(lo, hi) if lo <= hi else []


def _finish(
    params: KpiParams,
    sources: Mapping[str, CallSource],
    first: dt.date | None,
    last: dt.date | None,
    probes: Mapping[str, SiteProbe],
    finals: Mapping[str, _SiteFinal],
    missing: dict[str, str],
) -> StatsResult:
    done = sorted(site for site in finals if site not in missing)
    kpis = KpiColumns.concat([finals[site].kpis for site in done]).to_frame()
    malformed: dict[str, dict[str, int]] = {}
    rows: dict[str, int] = {}
    never_joined: dict[str, int] = {}
    for site in [s for s in probes if s not in missing]:
        final = finals.get(site)
        counts = dict(final.malformed) if final else {}
        reasons = {r: n for (s, r), n in counts.items() if s == site}
        if probes[site].null_arrival:
            reasons["null_arrival_at"] = probes[site].null_arrival
        if reasons:
            malformed[site] = dict(sorted(reasons.items()))
        rows[site] = (final.rows.get(site, 0) if final else 0) + probes[site].null_arrival
        if final and final.never_joined.get(site):
            never_joined[site] = final.never_joined[site]
    return StatsResult(
        params=params,
        first_day=first,
        last_day=last,
        kpis=kpis,
        missing=dict(sorted(missing.items())),
        malformed=malformed,
        rows=rows,
        never_joined=never_joined,
        sites=[s for s in sources if s not in missing],
    )


def _ensure_ray(address: str | None, init_kwargs: Mapping[str, Any] | None) -> bool:
    """Start or join Ray unless it is up; ``True`` if this call started it."""
    if ray.is_initialized():
        return False
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
    kwargs.update(init_kwargs or {})
    ray.init(address=address, **kwargs)
    return True


def run_ray(
    sources: Mapping[str, CallSource],
    first_day: dt.date | None = None,
    last_day: dt.date | None = None,
    params: KpiParams | None = None,
    *,
    address: str | None = None,
    init_kwargs: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> StatsResult:
    """Compute the KPIs of ``sources`` (site name -> source) over the days, on Ray."""
    params = params or KpiParams()
    t0 = time.perf_counter()
    started = _ensure_ray(address, init_kwargs)
    try:
        cluster = ray.cluster_resources()

        def opts(site: str) -> dict[str, Any]:
            key = f"site:{site}"
            return {"resources": {key: 0.001}} if key in cluster else {}

        probe_refs = {
            site: _probe_task.options(**opts(site)).remote(site, src)
            for site, src in sources.items()
        }
        missing: dict[str, str] = {}
        probes: dict[str, SiteProbe] = {}
        nodes: set[str] = set()
        for site, ref in probe_refs.items():
            seen: _Outcome = ray.get(ref)
            nodes.add(seen.node)
            if seen.error is not None or seen.probe is None:
                missing[site] = seen.error or "no answer"
                _say(progress, f"site {site}: unavailable: {missing[site]}")
            else:
                probes[site] = seen.probe
        first, last = _range(probes, first_day, last_day)
        todo: dict[str, list[dt.date]] = {}
        if first is not None and last is not None:
            todo = {site: _site_days(probe, first, last) for site, probe in probes.items()}
        pending: dict[Any, str] = {}  # summary ref -> site
        partial_refs: dict[str, list[Any]] = {site: [] for site in todo}
        left = {site: len(days) for site, days in todo.items()}
        for site, days in todo.items():
            for day in days:
                refs: Any = _partition_task.options(**opts(site)).remote(
                    site, sources[site], day, day, params
                )
                pending[refs[0]] = site
                partial_refs[site].append(refs[1])
        total = len(pending)
        finals: dict[str, _SiteFinal] = {}
        final_refs: dict[Any, str] = {}
        placement: dict[str, set[str]] = {}
        done = 0

        def finalize(site: str) -> None:
            if site not in missing and partial_refs[site]:
                ref = _final_task.options(**opts(site)).remote(params, *partial_refs[site])
                final_refs[ref] = site

        for site, count in left.items():
            if count == 0:
                finalize(site)
        while pending or final_refs:
            ready, _ = ray.wait([*pending, *final_refs], num_returns=1)
            for ref in ready:
                if ref in final_refs:
                    site = final_refs.pop(ref)
                    try:
                        finals[site] = ray.get(ref)  # type: ignore[assignment]
                    except ray.exceptions.RayError as exc:
                        missing.setdefault(site, f"merge failed: {_describe_error(exc)}")
                    continue
                site = pending.pop(ref)
                out: _Outcome = ray.get(ref)
                done += 1
                nodes.add(out.node)
                placement.setdefault(site, set()).add(out.node)
                left[site] -= 1
                if out.error is not None:
                    missing.setdefault(site, out.error)
                    _say(progress, f"[{done}/{total}] {site} {out.day}: FAILED {out.error}")
                else:
                    _say(
                        progress,
                        f"[{done}/{total}] {site} {out.day}: {out.rows} rows, "
                        f"{out.malformed} malformed, {out.seconds:.2f} s",
                    )
                if left[site] == 0:
                    finalize(site)
        result = _finish(params, sources, first, last, probes, finals, missing)
        result.tasks = total + len(probe_refs) + len(finals)
        result.nodes = nodes
        result.placement = placement
        result.elapsed_s = time.perf_counter() - t0
        return result
    finally:
        if started:
            ray.shutdown()


def run_local(
    sources: Mapping[str, CallSource],
    first_day: dt.date | None = None,
    last_day: dt.date | None = None,
    params: KpiParams | None = None,
    *,
    progress: Progress | None = None,
) -> StatsResult:
    """The same computation in this process: one pandas pass over each site's rows."""
    params = params or KpiParams()
    t0 = time.perf_counter()
    missing: dict[str, str] = {}
    probes: dict[str, SiteProbe] = {}
    for site, src in sources.items():
        out = _probe(site, src)
        if out.error is not None or out.probe is None:
            missing[site] = out.error or "no answer"
        else:
            probes[site] = out.probe
    first, last = _range(probes, first_day, last_day)
    finals: dict[str, _SiteFinal] = {}
    if first is not None and last is not None:
        for site, probe in probes.items():
            days = _site_days(probe, first, last)
            if not days:
                continue
            out, partial = _partition(site, sources[site], days[0], days[-1], params)
            if out.error is not None or partial is None:
                missing[site] = out.error or "no answer"
                continue
            finals[site] = _site_final(params, partial)
            _say(progress, f"{site}: {out.rows} rows, {time.perf_counter() - t0:.2f} s")
    result = _finish(params, sources, first, last, probes, finals, missing)
    result.tasks = len(finals)
    result.nodes = {"local"}
    result.elapsed_s = time.perf_counter() - t0
    return result


def _say(progress: Progress | None, line: str) -> None:
    if progress is not None:
        progress(line)


def malformed_total(result: StatsResult) -> Counter[str]:
    """Malformed records per reason, all sites together."""
    total: Counter[str] = Counter()
    for reasons in result.malformed.values():
        total.update(reasons)
    return total
