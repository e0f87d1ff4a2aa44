"""Ctrl-C between whole units of work: a long loop saves a consistent state, never one half-way through a step."""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager


@contextmanager
def held_interrupt():
    """Hold Ctrl-C (SIGINT) until the loop looks: yields a list that becomes non-empty on the first SIGINT; the loop
    checks it after each finished step, saves, and raises :class:`KeyboardInterrupt`. A second SIGINT acts at once
    (Python's handler is back). Unchanged outside the main thread or where SIGINT is not Python's
    KeyboardInterrupt (ignored, or a caller's own handler)."""
    requested: list = []
    if threading.current_thread() is not threading.main_thread() \
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield requested
        return

    def hold(signum, frame):
        requested.append(signum)
        signal.signal(signal.SIGINT, signal.default_int_handler)

    signal.signal(signal.SIGINT, hold)
    try:
        yield requested
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
