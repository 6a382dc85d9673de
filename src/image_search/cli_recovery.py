"""``image-search failures``: the recovery center on the command line (failed assets grouped by
cause with guidance; retry, ignore, un-ignore). Attached to the main ``app`` flat by cli.py,
like cli_people.py."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.orm import Session, sessionmaker

from image_search.cli_people import _errors, _settings
from image_search.cli_progress import RichReporter
from image_search.config import Settings
from image_search.db.engine import session_scope
from image_search.errors import InvalidInputError
from image_search.jobs.service import IndexService, open_database
from image_search.paging import check_size
from image_search.recovery.schemas import RecoveryOverviewSchema
from image_search.recovery.service import (
    MAX_PAGE_SIZE,
    ActionOutcome,
    FailedAsset,
    RecoveryOverview,
    RecoveryService,
    Selection,
)

app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False)
console = Console()


@app.command("failures")
def failures(
    retry: Annotated[
        str | None,
        typer.Option(
            "--retry",
            metavar="CAUSE|all",
            help="Try the failed assets of CAUSE (or all) again now, in this process.",
        ),
    ] = None,
    ignore: Annotated[
        str | None,
        typer.Option("--ignore", metavar="CAUSE", help="Mark the failed assets of CAUSE ignored."),
    ] = None,
    unignore: Annotated[
        str | None,
        typer.Option(
            "--unignore",
            metavar="CAUSE|all",
            help="Put ignored assets of CAUSE (or all) back among the failed ones.",
        ),
    ] = None,
    limit: Annotated[int, typer.Option(help="Files listed per cause (1..500).")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    pack: Annotated[
        str | None, typer.Option("--pack", help="Model pack (default: IMAGE_SEARCH_MODEL_PACK).")
    ] = None,
) -> None:
    """Failed files grouped by cause, with what to do about each cause.

    Example: image-search failures --retry truncated
    """
    settings = _settings(pack)
    with _errors():
        check_size(limit, MAX_PAGE_SIZE, "--limit")
        actions = [a for a in (retry, ignore, unignore) if a is not None]
        if len(actions) > 1:
            raise InvalidInputError("give at most one of --retry, --ignore, --unignore")
        factory = open_database(settings)
        action: dict[str, object] | None = None
        if retry is not None:
            action = _retry(settings, factory, _selection(retry), as_json)
        elif ignore is not None:
            action = _apply(factory, "ignore", Selection(cause=ignore), as_json)
        elif unignore is not None:
            action = _apply(factory, "unignore", _selection(unignore), as_json)
        with session_scope(factory) as session:
            overview = RecoveryService(session).overview(per_cause=limit)
    if as_json:
        document = RecoveryOverviewSchema.build(overview).model_dump(mode="json", by_alias=True)
        if action is not None:
            document["action"] = action
        json.dump(document, sys.stdout)
        sys.stdout.write("\n")
    else:
        _print_overview(overview)


def _selection(value: str) -> Selection:
    return Selection(all=True) if value == "all" else Selection(cause=value)


def _apply(
    factory: sessionmaker[Session], verb: str, selection: Selection, quiet: bool
) -> dict[str, object]:
    with session_scope(factory) as session:
        service = RecoveryService(session)
        outcome = service.ignore(selection) if verb == "ignore" else service.unignore(selection)
    if not quiet:
        done = "ignored" if verb == "ignore" else "restored to failed"
        console.print(f"{_count(outcome.changed, 'asset')} {done}.")
    return _action(verb, outcome)


def _retry(
    settings: Settings, factory: sessionmaker[Session], selection: Selection, quiet: bool
) -> dict[str, object]:
    """Requeue the selection, then process it here (as ``retry-failed``): the CLI has no
    background runner."""
    with session_scope(factory) as session:
        outcome = RecoveryService(session).retry(selection, schedule=False)
    result = _action("retry", outcome)
    if not outcome.changed:
        if not quiet:
            console.print("Nothing to retry.")
        return result
    if quiet:
        pipeline = IndexService(settings, None, factory).process_pending().pipeline
    else:
        with RichReporter(console) as reporter:
            pipeline = IndexService(settings, reporter, factory).process_pending().pipeline
        console.print(
            f"{_count(outcome.changed, 'asset')} tried again: {pipeline.processed} processed, "
            f"{pipeline.failed} failed again."
        )
    result["processedAgain"] = pipeline.processed
    result["failedAgain"] = pipeline.failed
    return result


def _action(verb: str, outcome: ActionOutcome) -> dict[str, object]:
    return {"action": verb, "changed": outcome.changed}


def _print_overview(overview: RecoveryOverview) -> None:
    if not overview.groups:
        console.print("Nothing failed.")
    else:
        console.print(
            f"[bold]{overview.failed} failed[/bold] in {_count(len(overview.groups), 'cause')}:"
        )
    for group in overview.groups:
        cause = group.cause
        console.print()
        console.print(
            f"[bold yellow]{escape(cause.title)}[/bold yellow] ({cause.id}): "
            f"{_count(group.count, 'file')}"
        )
        console.print(f"  {escape(cause.guidance)}", style="dim")
        for asset in group.assets:
            _print_asset(asset)
        if group.count > len(group.assets):
            console.print(f"  ... and {group.count - len(group.assets)} more (--limit)")
        console.print(
            f"  Retry: image-search failures --retry {cause.id}   "
            f"Ignore: image-search failures --ignore {cause.id}",
            style="dim",
        )
    if overview.ignored:
        causes = ", ".join(f"{g.cause.id} {g.count}" for g in overview.ignored_groups)
        console.print()
        console.print(
            f"{overview.ignored} ignored ({causes}); image-search failures --unignore CAUSE|all"
        )


def _print_asset(asset: FailedAsset) -> None:
    attempts = _count(asset.attempts, "attempt")
    when = f", last {asset.last_attempt_at:%Y-%m-%d %H:%M} UTC" if asset.last_attempt_at else ""
    console.print(f"  {escape(asset.path)}", highlight=False)
    console.print(
        f"    \\[{escape(asset.stage or '?')}, {attempts}{when}] {escape(asset.error or '')}",
        highlight=False,
    )
    if asset.fix_command:
        console.print(f"    fix: {escape(asset.fix_command)}", highlight=False)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
