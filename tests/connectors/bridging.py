"""Helpers for the push bridges' tests (test_tmc_bridge.py, test_pmc_bridge.py)."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable


def within(seconds: float, condition: Callable[[], bool]) -> Callable[[], bool]:
    """``condition``, or true anyway after ``seconds`` (the test then fails on what it asserts, not by hanging)."""
    ends = time.monotonic() + seconds
    return lambda: condition() or time.monotonic() > ends


def stop_when(condition: Callable[[], bool], seconds: float = 15) -> None:
    """In a thread: once ``condition`` holds (or after ``seconds``), SIGTERM this process, as systemd stops a
    bridge command (the command's handler stops its bridges and returns)."""

    def watch() -> None:
        done = within(seconds, condition)
        while not done():
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, daemon=True).start()
