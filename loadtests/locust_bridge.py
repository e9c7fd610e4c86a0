"""asyncio inside Locust: one event loop on one real OS thread per Locust process.

Importing locust monkey-patches the process with gevent, so asyncio cannot run in a greenlet.
:class:`AsyncBridge` starts one real OS thread (``gevent.monkey.get_original``) that runs an
event loop shared by every user of the process. Greenlets submit coroutines with
:meth:`AsyncBridge.spawn` (fire and forget: a call outlives the user that placed it) or
:meth:`AsyncBridge.run` (wait with short ``gevent.sleep`` polls). Results cross the thread
boundary through plain attributes and a ``deque`` (both safe under the GIL): the asyncio side
never calls into Locust; :meth:`drain` runs in a greenlet and hands queued step reports to it.

The bridge also measures the generator itself: the loop's lag (a 50 ms sleeper that notes how
late it wakes up) and the process CPU share (``time.process_time`` over wall time).
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import gevent
import gevent.monkey

T = TypeVar("T")
LAG_PROBE_S = 0.05
PUMP_S = 0.005


class InlineExecutor(concurrent.futures.ThreadPoolExecutor):
    """``run_in_executor`` without threads: aiortc's per-frame encode runs on the loop (it is
    short), instead of in a pool whose patched "threads" would be greenlets nobody runs."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


@dataclass
class _Box:
    done: bool = False
    result: Any = None
    error: BaseException | None = None


@dataclass
class GeneratorMetrics:
    """How hard the load generator itself works (per process)."""

    lag_samples: collections.deque[float] = field(default_factory=lambda: collections.deque(maxlen=20_000))
    lag_max_s: float = 0.0
    cpu_samples: list[float] = field(default_factory=list)  # share of one core per interval
    load_samples: list[tuple[int, float]] = field(default_factory=list)  # (calls in flight, cpu)
    in_flight: int = 0
    in_flight_peak: int = 0
    tasks_started: int = 0

    def summary(self) -> dict[str, Any]:
        lags = sorted(self.lag_samples)
        cpu = self.cpu_samples
        return {
            "loop_lag_p50_ms": round(1000 * lags[len(lags) // 2], 2) if lags else None,
            "loop_lag_p99_ms": round(1000 * lags[int(len(lags) * 0.99)], 2) if lags else None,
            "loop_lag_max_ms": round(1000 * self.lag_max_s, 2),
            "cpu_mean": round(sum(cpu) / len(cpu), 3) if cpu else None,
            "cpu_max": round(max(cpu), 3) if cpu else None,
            "calls_in_flight_peak": self.in_flight_peak,
            "cpu_at_load": [[n, round(c, 3)] for n, c in self.load_samples],
            "tasks_started": self.tasks_started,
        }


class AsyncBridge:
    def __init__(self, cpu_interval_s: float = 2.0) -> None:
        # In the patched process asyncio would pick gevent's selector, which breaks (and once
        # crashed the interpreter) off the main thread: use the real epoll instead.
        selector = gevent.monkey.get_original("selectors", "EpollSelector")
        self.loop = asyncio.SelectorEventLoop(selector())
        self.loop.set_default_executor(InlineExecutor())
        self.metrics = GeneratorMetrics()
        self._reports: collections.deque[tuple[Callable[..., None], tuple[Any, ...]]] = collections.deque()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._cpu_interval_s = cpu_interval_s
        self._running = True
        self._stopped = _Box()
        start_new_thread = gevent.monkey.get_original("_thread", "start_new_thread")
        start_new_thread(self._run, ())

    # ------------------------------------------------------------ the loop's thread
    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.create_task(self._probe_lag())
        self.loop.create_task(self._pump_greenlets())
        try:
            self.loop.run_forever()
        finally:
            self._stopped.done = True

    async def _probe_lag(self) -> None:
        loop = asyncio.get_running_loop()
        wall, cpu = time.monotonic(), time.process_time()
        while self._running:
            before = loop.time()
            await asyncio.sleep(LAG_PROBE_S)
            lag = max(0.0, loop.time() - before - LAG_PROBE_S)
            self.metrics.lag_samples.append(lag)
            self.metrics.lag_max_s = max(self.metrics.lag_max_s, lag)
            now = time.monotonic()
            if now - wall >= self._cpu_interval_s:
                share = (time.process_time() - cpu) / (now - wall)
                self.metrics.cpu_samples.append(share)
                self.metrics.load_samples.append((self.metrics.in_flight, share))
                wall, cpu = now, time.process_time()

    async def _pump_greenlets(self) -> None:
        """aiortc decodes received audio in a ``threading.Thread``, which the patched process
        turns into a greenlet of *this* thread's gevent hub: let that hub run every few ms."""
        while self._running:
            gevent.sleep(0)
            await asyncio.sleep(PUMP_S)

    def _start(self, coro: Coroutine[Any, Any, Any], box: _Box | None) -> None:
        task = self.loop.create_task(self._guard(coro, box))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _guard(coro: Coroutine[Any, Any, Any], box: _Box | None) -> None:
        try:
            result = await coro
            if box is not None:
                box.result = result
        except BaseException as exc:  # handed to the waiting greenlet (or dropped: spawn)
            if box is not None:
                box.error = exc
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
        finally:
            if box is not None:
                box.done = True

    # ------------------------------------------------------------ from greenlets
    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run ``coro`` on the loop without waiting (its outcome is reported by itself)."""
        self.metrics.tasks_started += 1
        self.loop.call_soon_threadsafe(self._start, coro, None)

    def run(self, coro: Coroutine[Any, Any, T], *, poll_s: float = 0.02) -> T:
        """Run ``coro`` on the loop and wait for it, yielding to other greenlets meanwhile."""
        box = _Box()
        self.loop.call_soon_threadsafe(self._start, coro, box)
        while not box.done:
            gevent.sleep(poll_s)
        if box.error is not None:
            raise box.error
        return box.result  # type: ignore[no-any-return]

    def report(self, fn: Callable[..., None], *args: Any) -> None:
        """From the loop: queue ``fn(*args)`` to run in the Locust greenlet (see :meth:`drain`)."""
        self._reports.append((fn, args))

    def drain(self) -> int:
        """In a greenlet: run the queued reports (Locust's events are not thread-safe)."""
        count = 0
        while self._reports:
            fn, args = self._reports.popleft()
            fn(*args)
            count += 1
        return count

    def call_started(self) -> None:
        self.metrics.in_flight += 1
        self.metrics.in_flight_peak = max(self.metrics.in_flight_peak, self.metrics.in_flight)

    def call_finished(self) -> None:
        self.metrics.in_flight -= 1

    def stop(self, cleanup: Coroutine[Any, Any, Any] | None = None, timeout_s: float = 15.0) -> None:
        """Run ``cleanup`` (hang up what is still live), cancel the rest, stop the loop."""
        if not self._running:
            if cleanup is not None:
                cleanup.close()
            return
        if cleanup is not None:
            try:
                self.run(asyncio.wait_for(cleanup, timeout_s))
            except (TimeoutError, asyncio.CancelledError):
                pass
        self._running = False
        self.run(self.cancel_all())
        self.loop.call_soon_threadsafe(self.loop.stop)
        deadline = time.monotonic() + 5.0
        while not self._stopped.done and time.monotonic() < deadline:
            gevent.sleep(0.02)

    async def cancel_all(self) -> None:
        """Cancel every task started through the bridge (but the caller)."""
        current = asyncio.current_task()
        tasks = [t for t in self._tasks if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
