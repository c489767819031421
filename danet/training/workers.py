"""Data-loading worker processes that never re-run the user's script.

Workers are spawned (not forked): a forked child inherits OpenCV's thread pool without its threads
and deadlocks on the first parallel OpenCV call. Plain `spawn`, however, re-imports the parent's
`__main__` in every child, so a script that calls `danet.train(...)` at module level, without an
``if __name__ == "__main__":`` guard, starts a new training run in each worker: the run hangs and
leaves stray run folders.

A worker needs only danet's code (the dataset, the transform and the collate function live in
importable modules), so this context spawns children without telling them about `__main__` at all.
Datasets whose class is defined in `__main__` (a script or a notebook) cannot reach such a worker;
`needs_main` detects them so the loader falls back to loading in the main process.
"""

from __future__ import annotations

import multiprocessing
import sys
import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.context import SpawnContext, SpawnProcess
from typing import Any

_swap_lock = threading.Lock()


@contextmanager
def _main_hidden() -> Iterator[None]:
    """While a child is launched, `__main__` is an empty module: the child gets no main to re-run."""
    with _swap_lock:
        real = sys.modules["__main__"]
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            sys.modules["__main__"] = real


class _ScriptSafeProcess(SpawnProcess):
    @staticmethod
    def _Popen(process_obj: Any) -> Any:
        with _main_hidden():
            return SpawnProcess._Popen(process_obj)


class ScriptSafeSpawnContext(SpawnContext):
    """`spawn`, except that children do not import the parent's `__main__` module."""

    Process = _ScriptSafeProcess


def worker_context() -> multiprocessing.context.BaseContext:
    return ScriptSafeSpawnContext()


def needs_main(*objects: Any) -> bool:
    """Whether any of `objects` (or its class) is defined in `__main__`, so a worker could not load it."""
    for obj in objects:
        for candidate in (obj, type(obj), getattr(obj, "__func__", None)):
            if candidate is not None and getattr(candidate, "__module__", None) == "__main__":
                return True
    return False


def in_bootstrapping_child() -> bool:
    """True inside a child process that is still importing its parent's `__main__` (plain spawn)."""
    return bool(getattr(multiprocessing.current_process(), "_inheriting", False))
