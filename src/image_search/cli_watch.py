"""``image-search watch``: the library watcher (library/watcher.py) in the foreground, without
the web server: changes in the library folders are registered as they happen (one line per
change) and processed in this process with the progress bars. Attached to the main ``app``
flat by cli.py, like cli_people.py."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.orm import Session, sessionmaker

from image_search.cli_progress import RichReporter
from image_search.config import Settings
from image_search.errors import ImageSearchError
from image_search.jobs.service import IndexService, IndexSummary, open_database
from image_search.library.service import PathChange
from image_search.library.watcher import LibraryWatcher, describe

app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False)
console = Console()
errors = Console(stderr=True)


class _InProcess:
    """The CLI's ``WorkScheduler``: work is remembered and processed after the watcher's
    step, in this thread."""

    def __init__(self) -> None:
        self.due = False

    def schedule(self, session: Session) -> None:
        self.due = True

    def committed(self) -> None:
        pass


@app.command("watch")
def watch(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Folders to index first and add to the library (the library's folders are "
            "watched in any case)."
        ),
    ] = None,
    pack: Annotated[
        str | None, typer.Option("--pack", help="Model pack (default: IMAGE_SEARCH_MODEL_PACK).")
    ] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (default: cores).")] = None,
) -> None:
    """Watch the library folders and index new, changed, moved and deleted files as they come,
    one line per change; a rescan every IMAGE_SEARCH_WATCH_RECONCILE_SECONDS (and one at once)
    finds what was missed. Runs until Ctrl-C. Use it instead of `serve`, not beside it."""
    from image_search.cli import _fail, _index_and_report, _interrupt, _settings

    settings = _settings(pack, workers)
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops like Ctrl-C
    if paths:
        _index_and_report(settings, paths)
    try:
        factory = open_database(settings)
    except ImageSearchError as exc:
        _fail(exc)
        return
    scheduler = _InProcess()
    watcher = LibraryWatcher(settings, factory, scheduler, on_changes=_print_changes)
    try:
        watcher.start()
        if not watcher.roots:
            _fail(
                ImageSearchError(
                    "the library has no folders yet: give one (image-search watch FOLDER) "
                    "or index one first"
                )
            )
        console.print(f"Watching {len(watcher.roots)} folder(s) (Ctrl-C to stop):")
        for root in sorted(watcher.roots):
            console.print(f"  {root}", markup=False, highlight=False, soft_wrap=True)

        def process() -> None:
            if scheduler.due:
                scheduler.due = False
                _process(settings, factory)

        watcher.run(threading.Event(), after_tick=process)
    except KeyboardInterrupt:
        console.print("Stopped.")
    finally:
        watcher.stop()
        factory.kw["bind"].dispose()


def _print_changes(changes: list[PathChange]) -> None:
    for change in changes:
        console.print(describe(change), markup=False, highlight=False, soft_wrap=True)


def _process(settings: Settings, factory: sessionmaker[Session]) -> None:
    """Hash, detect and embed faces, assign and cluster what the changes registered, with
    progress bars that disappear when done, then one summary line."""
    try:
        with RichReporter(console, transient=True) as reporter:
            summary = IndexService(settings, reporter, factory).process_pending()
    except ImageSearchError as exc:
        errors.print(f"[red]error:[/red] {exc.message}")
        return
    console.print(_summary_line(summary), markup=False, highlight=False, soft_wrap=True)


def _summary_line(summary: IndexSummary) -> str:
    pipe = summary.pipeline
    line = f"indexed: {pipe.processed} files processed, {pipe.faces} faces found"
    if pipe.failed:
        line += f", {pipe.failed} failed (image-search status)"
    if summary.scan.moved:
        line += f", {summary.scan.moved} recognised as moved"
    named = summary.assignment.auto_assigned
    if named:
        line += f", {named} faces named automatically"
    return line + "."
