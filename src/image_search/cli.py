"""The ``image-search`` command line, over the same services the API uses."""

from __future__ import annotations

import json
import os
import signal
import sys
import webbrowser
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from image_search.cli_people import app as people_app
from image_search.cli_progress import RichReporter
from image_search.cli_recovery import app as recovery_app
from image_search.cli_search import app as search_app
from image_search.cli_watch import app as watch_app
from image_search.config import Settings, get_settings
from image_search.errors import ImageSearchError
from image_search.jobs.service import IndexService, LibraryStatus, failed_count

app = typer.Typer(
    help="image-search: index photo folders, find and cluster the faces in them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
errors = Console(stderr=True)


def _settings(pack: str | None = None, workers: int | None = None) -> Settings:
    settings = get_settings()
    updates: dict[str, object] = {}
    if pack:
        updates["model_pack"] = pack
    if workers:
        updates["workers"] = workers
    return settings.model_copy(update=updates) if updates else settings


def _fail(exc: ImageSearchError) -> None:
    errors.print(f"[red]error:[/red] {exc.message}")
    raise typer.Exit(2)


PackOption = Annotated[
    str | None, typer.Option("--pack", help="Model pack (default: IMAGE_SEARCH_MODEL_PACK).")
]
WorkersOption = Annotated[int | None, typer.Option(help="Worker processes (default: cores).")]
HostOption = Annotated[str, typer.Option(help="Address to listen on (default: this machine only).")]
PortOption = Annotated[int, typer.Option(help="TCP port.")]


@app.command()
def index(
    paths: Annotated[
        list[Path], typer.Argument(help="Folders to index (nested folders included).")
    ],
    pack: PackOption = None,
    workers: WorkersOption = None,
) -> None:
    """Scan, hash, detect and embed faces, cluster them; print a summary."""
    _index_and_report(_settings(pack, workers), paths)


def _index_and_report(settings: Settings, paths: list[Path]) -> None:
    """Index ``paths`` with the Rich progress bars, then print the summary and the status.
    Exits with status 2 on a user error (for example a path that is not a folder)."""
    try:
        with RichReporter(console) as reporter:
            summary = IndexService(settings, reporter).index(paths)
    except ImageSearchError as exc:
        _fail(exc)
        return
    scan, pipe, clusters = summary.scan, summary.pipeline, summary.clustering
    console.print(
        f"Scanned {scan.seen} files: {scan.new} new, {scan.changed} changed, "
        f"{scan.unchanged} unchanged, {scan.moved} moved, {scan.missing} missing."
    )
    console.print(
        f"Processed {pipe.processed} images ({pipe.failed} failed), found {pipe.faces} faces; "
        f"clustering: {clusters.new_clusters} new clusters, {clusters.attached} faces joined "
        f"existing ones."
    )
    if clusters.skipped:
        console.print(f"[yellow]Clustering skipped:[/yellow] {clusters.skipped}")
    assigned = summary.assignment
    if assigned.skipped:
        console.print(f"[yellow]Assignment skipped:[/yellow] {assigned.skipped}")
    elif assigned.status == "ok":
        console.print(
            f"Assignment: {assigned.auto_assigned} faces named automatically, "
            f"{assigned.suggestions_created} new suggestions to review."
        )
    if summary.clip.skipped:
        console.print(f"[yellow]Text search (CLIP) skipped:[/yellow] {summary.clip.skipped}")
    elif summary.clip.embedded or summary.clip.failed:
        console.print(
            f"CLIP: {summary.clip.embedded} images embedded for text search "
            f"({summary.clip.failed} failed)."
        )
    _print_status(summary.status, settings.data_dir)


@app.command()
def run(
    paths: Annotated[
        list[Path], typer.Argument(help="Folders to index (nested folders included).")
    ],
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Do not open the web UI in a browser.")
    ] = False,
    pack: PackOption = None,
    workers: WorkersOption = None,
) -> None:
    """Start the web UI and API, open it in the browser, index the folders (progress here,
    live in the UI too), then keep serving until Ctrl-C."""
    from image_search.api.server import BackgroundServer, browser_url

    for path in paths:
        if not path.is_dir():
            _fail(ImageSearchError(f"{path} is not a folder"))
    settings = _settings(pack, workers)
    url = browser_url(host, port)
    server = BackgroundServer(settings, host=host, port=port)
    # `kill` (SIGTERM) stops like Ctrl-C: the server finishes its requests and job runner.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        try:
            server.start()
        except ImageSearchError as exc:
            _fail(exc)
        console.print(f"Web UI: [bold]{url}[/bold]")
        if not no_browser:
            _open_browser(url)
        _index_and_report(settings, paths)
        if server.watch():
            console.print("Watching the library folders: changes are indexed by themselves.")
        console.print(f"Indexing finished. Web UI: [bold]{url}[/bold] (Ctrl-C to stop)")
        server.wait()
    except KeyboardInterrupt:
        console.print("Stopping.")
    finally:
        server.stop()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _open_browser(url: str) -> None:
    """Open ``url`` in the desktop's browser; on a Linux machine without a display (over SSH)
    only say where the UI is, rather than start a text browser in this terminal."""
    headless = sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )
    if headless or not webbrowser.open(url):
        console.print(f"Open {url} in a browser to see the library.")


@app.command()
def status() -> None:
    """Assets by kind and status, faces, clusters and failures."""
    settings = _settings()
    try:
        _print_status(IndexService(settings).status(), settings.data_dir)
    except ImageSearchError as exc:
        _fail(exc)


STATUS_COLUMNS = ("pending", "done", "failed", "ignored", "missing")


def _print_status(status: LibraryStatus, data_dir: Path) -> None:
    table = Table(title="Library", show_edge=False)
    table.add_column("kind")
    for name in STATUS_COLUMNS:
        table.add_column(name, justify="right")
    for kind, counts in sorted(status.assets_by_status.items()):
        table.add_row(kind, *(str(counts.get(s, 0)) for s in STATUS_COLUMNS))
    console.print(table)
    console.print(
        f"Faces: {status.faces}; clusters: {status.clusters} "
        f"({status.clustered_faces} faces clustered). Data dir: {data_dir}"
    )
    assets_done = sum(counts.get("done", 0) for counts in status.assets_by_status.values())
    for model, embedded in sorted(status.clip_embedded.items()):
        console.print(f"Text search ({model}): {embedded} of {assets_done} assets embedded.")
    if status.failures:
        console.print(
            f"[yellow]{failed_count(status)} failed[/yellow] (by cause, with what to do: "
            "image-search failures; all again: image-search retry-failed):"
        )
        for failure in status.failures[:50]:
            # Escaped: Rich would read "[metadata]" as a style tag and drop it.
            console.print(
                f"  {escape(failure.path)} \\[{failure.stage}] {escape(failure.error or '')}"
            )
        if len(status.failures) > 50:
            console.print(f"  ... and {len(status.failures) - 50} more")


@app.command()
def clusters(
    recluster: Annotated[
        bool, typer.Option(help="Discard unnamed clusters, cluster again.")
    ] = False,
    limit: Annotated[int, typer.Option(help="Clusters to list.")] = 20,
    pack: PackOption = None,
) -> None:
    """List clusters, largest first, with sample files."""
    settings = _settings(pack)
    try:
        service = IndexService(settings)
        if recluster:
            report = service.cluster(full=True)
            console.print(
                f"Reclustered: {report.clusters} clusters, {report.unclustered} faces left out."
            )
        total, listed = service.cluster_overview(limit)
        console.print(f"{total} clusters ({settings.model_pack})")
        for cluster in listed:
            samples = ", ".join(Path(p).name for p in cluster.sample_paths)
            console.print(f"  cluster {cluster.cluster_id}: {cluster.faces} faces  e.g. {samples}")
    except ImageSearchError as exc:
        _fail(exc)


@app.command("retry-failed")
def retry_failed(pack: PackOption = None) -> None:
    """Try every failed asset again."""
    settings = _settings(pack)
    try:
        with RichReporter(console) as reporter:
            queued, pipe = IndexService(settings, reporter).retry_failed()
    except ImageSearchError as exc:
        _fail(exc)
        return
    console.print(
        f"{queued} failed assets tried again: {pipe.processed} processed, "
        f"{pipe.failed} failed again, {pipe.faces} faces."
    )


@app.command("eval")
def evaluate(
    dataset: Annotated[Path, typer.Argument(help="Folder of <person>/<image> files.")],
    pairs: Annotated[Path | None, typer.Option(help="LFW-format pairs.txt.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    pack: PackOption = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes.")] = None,
) -> None:
    """Verification accuracy, clustering scores and faces per image on a labelled dataset."""
    from image_search.evaluation.report import render_text
    from image_search.evaluation.runner import evaluate as run_evaluation

    settings = _settings(pack, workers)
    try:
        if as_json:
            result = run_evaluation(dataset, settings, pairs)
            json.dump(result, sys.stdout)
            sys.stdout.write("\n")
        else:
            with RichReporter(console) as reporter:
                result = run_evaluation(dataset, settings, pairs, reporter)
            console.print(render_text(result))
    except ImageSearchError as exc:
        _fail(exc)


@app.command()
def serve(
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    pack: PackOption = None,
) -> None:
    """Run the web UI, the REST API (OpenAPI docs at /docs) and the background job runner in
    one process."""
    from image_search.api.server import serve as run_server

    run_server(_settings(pack), host=host, port=port)


# The people commands (people, person, name, suggest, suggestions, ...) live in cli_people.py;
# added without a name they sit at the top level: `image-search name 12 Alice`.
app.add_typer(people_app)
app.add_typer(search_app)
app.add_typer(watch_app)
app.add_typer(recovery_app)

if __name__ == "__main__":
    app()
