"""One model, many users: first-come-first-served turns at the LLM, with each waiter's place in line.

llama.cpp's context is not thread-safe, so every generation takes a turn. Waiters are told their position
(0 = generating now) whenever it changes, so a browser can show "排队中，前面还有 N 个请求".
"""

from __future__ import annotations

import itertools
import threading
from contextlib import contextmanager


class ModelTurns:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._tickets = itertools.count()
        self._line: list[int] = []  # tickets in arrival order; the head holds the model

    @property
    def waiting(self) -> int:
        """Requests in line behind the one generating now."""
        with self._cond:
            return max(0, len(self._line) - 1)

    @contextmanager
    def turn(self, on_wait=None):
        """Hold the model for the duration of the block; `on_wait(position)` reports the place in line."""
        with self._cond:
            ticket = next(self._tickets)
            self._line.append(ticket)
            told = None
            while self._line[0] != ticket:
                position = self._line.index(ticket)
                if on_wait is not None and position != told:
                    on_wait(position)
                    told = position
                self._cond.wait()
        try:
            yield
        finally:
            with self._cond:
                self._line.remove(ticket)
                self._cond.notify_all()
