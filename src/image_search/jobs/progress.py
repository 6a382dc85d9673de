"""Progress reporting for long operations, independent of how it is shown (Rich bar, SSE)."""

from __future__ import annotations

from typing import Protocol


class ProgressReporter(Protocol):
    def start(self, task: str, total: int | None) -> None:
        """A phase named ``task`` begins with ``total`` units (None: unknown)."""

    def advance(self, task: str, amount: int = 1, faces: int = 0) -> None:
        """``amount`` units of ``task`` are done, having found ``faces`` faces."""

    def finish(self, task: str) -> None:
        """The phase ended."""


class NullReporter:
    def start(self, task: str, total: int | None) -> None:
        pass

    def advance(self, task: str, amount: int = 1, faces: int = 0) -> None:
        pass

    def finish(self, task: str) -> None:
        pass


class PhaseProgress:
    """Adapts a ``(done, total)`` callback (what services report) to a ``ProgressReporter``
    phase: started on the first report, advanced by the difference, finished once."""

    def __init__(self, reporter: ProgressReporter, task: str) -> None:
        self.reporter = reporter
        self.task = task
        self.done = 0
        self.started = False

    def __call__(self, done: int, total: int) -> None:
        if not self.started:
            self.reporter.start(self.task, total)
            self.started = True
        self.reporter.advance(self.task, done - self.done)
        self.done = done

    def finish(self) -> None:
        if self.started:
            self.reporter.finish(self.task)
