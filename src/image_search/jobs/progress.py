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
