"""A bounded worker pool for the agent's blocking, CPU-bound turns.

The event loop must never run a turn itself (it would freeze every other request), and on a small
machine running many LLM calls at once only makes each slower. So turns run on a fixed number of
worker threads and a limited number may wait; past that the pool refuses at once
(:class:`PoolFullError`, which the API turns into 503 + Retry-After) instead of piling up work.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import AsyncGenerator, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class PoolFullError(RuntimeError):
    """Every worker is busy and the wait line is full."""


class TurnPool:
    """Run blocking calls on ``workers`` threads with at most ``queue_size`` more waiting."""

    def __init__(self, workers: int, queue_size: int) -> None:
        self.workers = workers
        self.capacity = workers + queue_size
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="recbot-turn")
        self._lock = threading.Lock()
        self._in_flight = 0

    @property
    def in_flight(self) -> int:
        """Calls running or waiting now."""
        return self._in_flight

    def _take_slot(self) -> None:
        with self._lock:
            if self._in_flight >= self.capacity:
                raise PoolFullError(
                    f"all {self.workers} workers busy and {self.capacity - self.workers} waiting"
                )
            self._in_flight += 1

    def _release_slot(self, _future: Future[Any] | None = None) -> None:
        with self._lock:
            self._in_flight -= 1

    def _submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        self._take_slot()
        try:
            # The caller's context (its request id for the logs) goes with the work to the worker.
            future = self._executor.submit(contextvars.copy_context().run, fn, *args)
        except BaseException:
            self._release_slot()
            raise
        # The slot is freed when the work ends, not when the caller stops waiting (a client that
        # disconnects does not stop a turn that is already running).
        future.add_done_callback(self._release_slot)
        return future

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on a worker and return its result (or raise its exception)."""
        return await asyncio.wrap_future(self._submit(fn, *args))

    async def stream(self, make_iterator: Callable[[], Iterator[T]]) -> AsyncGenerator[T, None]:
        """Iterate a blocking generator on a worker, handing each item to the event loop as it comes."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        stop = threading.Event()

        def put(kind: str, value: Any) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, (kind, value))

        def work() -> None:
            try:
                for item in make_iterator():
                    put("item", item)
                    # A consumer that went away does not get more chunks, but the generator is
                    # still drained so the turn is completed and recorded.
                    if stop.is_set():
                        continue
            except BaseException as exc:  # handed to the consumer, which re-raises it
                put("error", exc)
            finally:
                put("end", None)

        self._submit(work)
        try:
            while True:
                kind, value = await queue.get()
                if kind == "item":
                    yield value
                elif kind == "error":
                    raise value
                else:
                    return
        finally:
            stop.set()

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
