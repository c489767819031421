"""Ctrl-C and SIGTERM as a request to stop after the current step (a second Ctrl-C stops at once)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class StopRequest(threading.Event):
    """Set when a stop was asked for; `signum` says which signal asked (None: none yet)."""

    signum: int | None = None

    @property
    def exit_code(self) -> int:
        """The shell's code for a process ended by that signal: 130 for SIGINT, 143 for SIGTERM."""
        return 128 + int(self.signum or signal.SIGINT)


@contextmanager
def stop_requests() -> Iterator[StopRequest]:
    """An event set by SIGINT/SIGTERM while the block runs; handlers are restored afterwards.

    Outside the main thread (where signal handlers cannot be installed) the event is never set.
    """
    event = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield event
        return

    def handler(signum: int, frame: Any) -> None:
        if event.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        if not event.is_set():
            event.signum = signum
        event.set()

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield event
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
