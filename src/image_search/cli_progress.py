"""Rich progress bars for the ``ProgressReporter`` protocol: files, faces, rate and ETA."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

LABELS = {
    "scanning": "Scanning folders",
    "hashing": "Hashing new files",
    "faces": "Finding faces",
    "embedding": "Embedding dataset",
    "clustering": "Comparing clusterings",
    "assign": "Matching faces to persons",
    "clip": "Embedding images for text search",
}


class RichReporter:
    """``transient``: the bars disappear when done (``image-search watch`` shows one run per
    batch of changes)."""

    def __init__(self, console: Console, transient: bool = False) -> None:
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[faces]} faces"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            transient=transient,
        )
        self.tasks: dict[str, TaskID] = {}
        self.faces: dict[str, int] = {}

    def __enter__(self) -> RichReporter:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def start(self, task: str, total: int | None) -> None:
        self.faces[task] = 0
        self.tasks[task] = self.progress.add_task(
            LABELS.get(task, task), total=total, faces=0, rate=""
        )

    def advance(self, task: str, amount: int = 1, faces: int = 0) -> None:
        task_id = self.tasks.get(task)
        if task_id is None:
            return
        self.faces[task] += faces
        speed = self.progress.tasks[self.tasks[task]].speed
        rate = f"{speed:.1f} files/s" if speed else ""
        self.progress.update(task_id, advance=amount, faces=self.faces[task], rate=rate)

    def finish(self, task: str) -> None:
        task_id = self.tasks.get(task)
        if task_id is not None:
            done = self.progress.tasks[task_id].completed
            self.progress.update(task_id, total=done, completed=done)
