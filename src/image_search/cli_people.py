"""People commands of the ``image-search`` command line: persons, naming clusters, assigning
faces, suggestions and their review, find-more and the matching thresholds.

Each command parses its arguments, opens one transaction, calls one service method of the
people domain (the same the API uses) and prints the outcome. Bad input is an error with exit
code 2 and changes nothing; commands acting on several ids print one line per id and exit with
1 when any of them failed (the others are done).

The commands attach to the main ``app`` flat (``image-search people``, ``image-search name``):
cli.py adds this Typer without a name. This module never imports cli.py, so
``python -m image_search.cli`` works too.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from enum import StrEnum
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from sqlalchemy.orm import Session

from image_search.cli_progress import RichReporter
from image_search.config import Settings, get_settings
from image_search.db.engine import session_scope
from image_search.errors import ImageSearchError
from image_search.faces.browse import FaceBrowseService
from image_search.jobs.service import IndexService, open_database
from image_search.people.assignment import AssignmentReport
from image_search.people.find_more import FindMoreResult, find_more, find_more_by_centroid
from image_search.people.matching_settings import MatchingSettingsService
from image_search.people.service import ItemResult, PersonDetail, PersonService
from image_search.people.suggestions import SuggestionService

app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False)
console = Console()
errors = Console(stderr=True)

PackOption = Annotated[
    str | None, typer.Option("--pack", help="Model pack (default: IMAGE_SEARCH_MODEL_PACK).")
]
PersonArg = Annotated[int, typer.Argument(help="Person id (see: image-search people).")]


# plumbing ----------------------------------------------------------------------------------
def _settings(pack: str | None = None) -> Settings:
    settings = get_settings()
    return settings.model_copy(update={"model_pack": pack}) if pack else settings


@contextmanager
def _errors() -> Iterator[None]:
    """An ``ImageSearchError`` becomes a message on stderr and exit code 2 (as cli._fail)."""
    try:
        yield
    except ImageSearchError as exc:
        errors.print(f"[red]error:[/red] {escape(exc.message)}")
        raise typer.Exit(2) from None


@contextmanager
def _session(pack: str | None = None) -> Iterator[tuple[Session, str]]:
    """One transaction on the configured database: committed when the block succeeds, rolled
    back on any error (an ``ImageSearchError`` then exits with 2)."""
    settings = _settings(pack)
    with _errors():
        factory = open_database(settings)
        with session_scope(factory) as session:
            yield session, settings.model_pack


def _fail(message: str) -> NoReturn:
    """Bad command-line input: exit 2 before anything is touched."""
    errors.print(f"[red]error:[/red] {escape(message)}")
    raise typer.Exit(2)


def _person_label(name: str, person_id: int) -> str:
    return f"{escape(name)} (person {person_id})"


def _print_results(results: Sequence[ItemResult], kind: str, done: str) -> None:
    """One line per id; exit code 1 when any failed (the others stay done)."""
    for r in results:
        if r.ok:
            console.print(f"{kind} {r.id}: {done}")
        else:
            console.print(f"{kind} {r.id}: [red]{r.error}[/red] {escape(r.message or '')}")
    failed = sum(not r.ok for r in results)
    console.print(f"{len(results) - failed} {done}, {failed} failed.")
    if failed:
        raise typer.Exit(1)


# persons -----------------------------------------------------------------------------------
@app.command("people")
def people(
    hidden: Annotated[bool, typer.Option("--hidden", help="Include hidden persons.")] = False,
    search: Annotated[
        str | None, typer.Option(help="Only persons whose name contains TEXT (any case).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000, help="Persons to list.")] = 100,
) -> None:
    """List persons, most faces first: id, name, faces, hidden, birth date."""
    with _session() as (session, pack):
        total, rows = PersonService(session, pack).list_persons(hidden, search, 0, limit)
    if not rows:
        console.print(
            f"No persons match {escape(repr(search))}."
            if search
            else "No persons"
            + ("" if hidden else " (hidden ones are listed with --hidden)")
            + ". Name a cluster with 'image-search name CLUSTER_ID NAME'."
        )
        return
    table = Table(show_edge=False)
    table.add_column("id", justify="right")
    table.add_column("name")
    table.add_column("faces", justify="right")
    table.add_column("hidden")
    table.add_column("birth date")
    for person, faces in rows:
        table.add_row(
            str(person.id),
            escape(person.name),
            str(faces),
            "yes" if person.hidden else "",
            person.birth_date.isoformat() if person.birth_date else "",
        )
    console.print(table)
    console.print(f"{len(rows)} of {total} persons" + ("" if hidden else " (hidden ones left out)"))


@app.command("person")
def person(
    person_id: PersonArg,
    faces: Annotated[
        bool, typer.Option("--faces", help="Also list the person's faces (best 500 by quality).")
    ] = False,
) -> None:
    """Show one person: faces, prototypes (pinned and automatic), centroid."""
    with _session() as (session, pack):
        detail = PersonService(session, pack).detail(person_id)
        listed = _person_faces(session, pack, person_id) if faces else []
    _print_detail(detail)
    for face_id, quality, assigned_by, path in listed:
        console.print(f"  face {face_id}  quality {quality:.2f}  by {assigned_by}  {escape(path)}")


def _person_faces(session: Session, pack: str, person_id: int) -> list[tuple[int, float, str, str]]:
    """(face id, quality, assigned by, file) of a person's faces, best quality first."""
    _, faces = FaceBrowseService(session, pack).person_faces(person_id, 1, 500)
    return [(f.face.id, f.face.quality, f.face.assigned_by or "-", f.asset_path) for f in faces]


def _print_detail(detail: PersonDetail) -> None:
    p = detail.person
    console.print(f"[bold]{_person_label(p.name, p.id)}[/bold]" + (" hidden" if p.hidden else ""))
    console.print(f"  faces: {detail.face_count}")
    console.print(f"  birth date: {p.birth_date.isoformat() if p.birth_date else '-'}")
    console.print(f"  cover face: {p.cover_face_id if p.cover_face_id is not None else '-'}")
    for role in ("pinned", "auto"):
        ids = [str(x.face_id) for x in detail.prototypes if x.role == role]
        console.print(f"  {role} prototypes ({len(ids)}): {', '.join(ids) or '-'}")
    console.print(f"  centroid from {detail.centroid_face_count} faces")


@app.command("name")
def name(
    cluster_id: Annotated[int, typer.Argument(help="Cluster id (see: image-search clusters).")],
    person_name: Annotated[
        str | None, typer.Argument(metavar="[NAME]", help="Name of the person.")
    ] = None,
    person_id: Annotated[
        int | None, typer.Option("--person", help="Join this existing person instead.")
    ] = None,
    exclude: Annotated[
        list[int] | None, typer.Option("--exclude", help="Face id to leave out (repeatable).")
    ] = None,
) -> None:
    """Name a cluster: its faces go to person NAME (new, or the existing one of that name).

    NAME matches an existing person ignoring case; --person ID joins that person instead.
    Faces rejected for the person before stay unassigned; the cluster is removed."""
    if (person_name is None) == (person_id is None):
        _fail("give either a NAME or --person ID")
    with _session() as (session, pack):
        named = PersonService(session, pack).name_cluster(
            cluster_id, person_name, person_id, exclude or ()
        )
    p = named.person
    console.print(
        f"Cluster {cluster_id} -> {_person_label(p.name, p.id)}"
        f"{' (new)' if named.created else ''}: {named.faces_assigned} faces assigned"
        + (f", {named.faces_skipped} left unassigned." if named.faces_skipped else ".")
    )


@app.command("rename")
def rename(
    person_id: PersonArg,
    new_name: Annotated[str, typer.Argument(metavar="NAME", help="The new name.")],
) -> None:
    """Rename a person."""
    with _session() as (session, pack):
        p = PersonService(session, pack).update(person_id, name=new_name)
    console.print(f"Renamed: {_person_label(p.name, p.id)}.")


@app.command("merge")
def merge(
    source_ids: Annotated[list[int], typer.Argument(help="Persons to fold into the target.")],
    into: Annotated[int, typer.Option("--into", help="Person that keeps everything.")],
) -> None:
    """Merge persons into the one given with --into.

    Faces, pinned prototypes, suggestions and "not this person" marks move to the target; the
    source persons are deleted."""
    with _session() as (session, pack):
        service = PersonService(session, pack)
        target = service.merge(source_ids, into)
        faces = service.detail(target.id).face_count
    merged = ", ".join(str(s) for s in dict.fromkeys(source_ids))
    console.print(f"Merged {merged} into {_person_label(target.name, target.id)}: {faces} faces.")


def _set_hidden(person_id: int, hidden: bool) -> None:
    with _session() as (session, pack):
        p = PersonService(session, pack).update(person_id, hidden=hidden)
    console.print(f"{_person_label(p.name, p.id)} is {'hidden' if hidden else 'shown'}.")


@app.command("hide")
def hide(person_id: PersonArg) -> None:
    """Hide a person from lists (faces stay assigned; 'people --hidden' shows it)."""
    _set_hidden(person_id, True)


@app.command("show")
def show(person_id: PersonArg) -> None:
    """Show a hidden person in lists again."""
    _set_hidden(person_id, False)


@app.command("delete-person")
def delete_person(
    person_id: PersonArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a person; its faces become unassigned.

    Its prototypes, suggestions and "not this person" marks are removed too."""
    if not yes:
        with _session() as (session, pack):
            detail = PersonService(session, pack).detail(person_id)
        label = _person_label(detail.person.name, person_id)
        if not typer.confirm(f"Delete {label} with {detail.face_count} faces?"):
            console.print("Nothing deleted.")
            raise typer.Exit(1)
    with _session() as (session, pack):
        released = PersonService(session, pack).delete(person_id)
    console.print(f"Deleted person {person_id}; {released} faces are unassigned.")


@app.command("birth-date")
def birth_date(
    person_id: PersonArg,
    when: Annotated[str | None, typer.Argument(metavar="[YYYY-MM-DD]", help="Birth date.")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove the birth date.")] = False,
) -> None:
    """Set (YYYY-MM-DD) or --clear a person's birth date."""
    if (when is None) == (not clear):
        _fail("give either a date YYYY-MM-DD or --clear")
    value: date | None = None
    if when is not None:
        try:
            value = date.fromisoformat(when)
        except ValueError:
            _fail(f"{when!r} is not a date: use YYYY-MM-DD")
    with _session() as (session, pack):
        p = PersonService(session, pack).update(person_id, birth_date=value)
    shown = p.birth_date.isoformat() if p.birth_date else "none"
    console.print(f"{_person_label(p.name, p.id)}: birth date {shown}.")


@app.command("cover")
def cover(
    person_id: PersonArg,
    face_id: Annotated[int, typer.Argument(help="One of the person's faces.")],
) -> None:
    """Choose the face shown for a person."""
    with _session() as (session, pack):
        p = PersonService(session, pack).update(person_id, cover_face_id=face_id)
    console.print(f"{_person_label(p.name, p.id)}: cover face {p.cover_face_id}.")


# faces -------------------------------------------------------------------------------------
FaceIds = Annotated[list[int], typer.Argument(help="Face ids.")]


@app.command("assign")
def assign(
    face_ids: FaceIds,
    person_id: Annotated[int | None, typer.Option("--person", help="Existing person.")] = None,
    new: Annotated[str | None, typer.Option("--new", help="Create a person of this name.")] = None,
) -> None:
    """Assign faces to a person (--person ID) or to a new one (--new NAME).

    Faces of another person move (that splits it); earlier "not this person" marks of the pair
    are lifted."""
    if (person_id is None) == (new is None):
        _fail("give either --person ID or --new NAME")
    with _session() as (session, pack):
        p, results = PersonService(session, pack).assign(face_ids, person_id, new)
        label = _person_label(p.name, p.id)
    console.print(f"To {label}:")
    _print_results(results, "face", "assigned")


@app.command("unassign")
def unassign(
    face_ids: FaceIds,
    not_this_person: Annotated[
        bool,
        typer.Option(
            "--not-this-person",
            help="Remember the pair: never suggest or auto-assign the face to that person again.",
        ),
    ] = False,
) -> None:
    """Take faces away from their person."""
    with _session() as (session, pack):
        results = PersonService(session, pack).unassign(face_ids, not_this_person)
    _print_results(results, "face", "unassigned")


@app.command("pin")
def pin(
    person_id: PersonArg,
    face_id: Annotated[int, typer.Argument(help="One of the person's faces.")],
    unpin: Annotated[bool, typer.Option("--unpin", help="Unpin it instead.")] = False,
) -> None:
    """Pin one of a person's faces as a prototype (kept when prototypes are re-chosen)."""
    with _session() as (session, pack):
        detail = PersonService(session, pack).set_prototype_pinned(person_id, face_id, not unpin)
    _print_detail(detail)


# suggestions -------------------------------------------------------------------------------
@app.command("suggest")
def suggest(pack: PackOption = None) -> None:
    """Match the unassigned faces against the persons now: auto-assign or suggest.

    At or above the pack's auto-assign threshold a face is assigned, at or above the suggestion
    threshold it is suggested (see: image-search thresholds). Runs after every index too."""
    settings = _settings(pack)
    with _errors(), RichReporter(console) as reporter:
        report = IndexService(settings, reporter).assign()
    _print_assignment(report)


def _print_assignment(report: AssignmentReport) -> None:
    if report.status == "skipped":
        console.print(f"[yellow]Assignment skipped:[/yellow] {escape(report.skipped or '')}")
    elif report.status == "no_prototypes":
        console.print("No person has prototypes yet: name a cluster first.")
    elif report.status == "no_new_faces":
        console.print("No unassigned faces to match.")
    else:
        console.print(
            f"Matched {report.processed} unassigned faces: {report.auto_assigned} assigned "
            f"automatically, {report.suggestions_created} new suggestions "
            f"({report.suggested} faces with pending suggestions, {report.ambiguous} "
            f"ambiguous), {report.unassigned} without a match."
        )


class StatusChoice(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    EXPIRED = "expired"
    ALL = "all"


@app.command("suggestions")
def suggestions(
    person_id: Annotated[int | None, typer.Option("--person", help="Only this person.")] = None,
    status: Annotated[
        StatusChoice, typer.Option(case_sensitive=False, help="Suggestions of this status.")
    ] = StatusChoice.PENDING,
    page: Annotated[int, typer.Option(help="Page of groups, from 1.")] = 1,
    groups: Annotated[int, typer.Option(help="Persons per page (1-200).")] = 20,
    per_group: Annotated[int, typer.Option(help="Suggestions shown per person (1-200).")] = 5,
) -> None:
    """Suggestions grouped by person, the most confident first.

    Per person: count and best confidence, then the top suggestions with their id, confidence,
    face and file. Review them with accept, reject and undo."""
    with _session() as (session, pack):
        found = SuggestionService(session, pack).grouped(
            page, groups, per_group, None if status == "all" else status.value, person_id
        )
    label = "suggestions" if status == "all" else f"{status} suggestions"
    if not found.groups:
        console.print(f"No {label}" + (" on this page." if page > 1 else "."))
        return
    for g in found.groups:
        console.print(
            f"[bold]{_person_label(g.person_name or '?', g.person_id)}[/bold]: "
            f"{g.suggestion_count} {label}, best {g.max_confidence:.3f}, "
            f"{g.labelled_face_count} faces"
        )
        for v in g.suggestions:
            s = v.suggestion
            extra = "" if status == "pending" else f"  {s.status}"
            console.print(
                f"  suggestion {s.id}  {s.confidence:.3f}  face {s.face_id}{extra}  "
                f"{escape(v.asset.path)}",
                soft_wrap=True,
            )
    pages = -(-found.total_groups // found.groups_per_page)
    console.print(
        f"Page {found.page} of {pages}: {found.total_groups} persons, "
        f"{found.total_suggestions} {label}."
    )


SuggestionIds = Annotated[list[int], typer.Argument(help="Suggestion ids.")]


def _bulk(suggestion_ids: list[int], action: str, done: str) -> None:
    with _session() as (session, pack):
        result = SuggestionService(session, pack).bulk(suggestion_ids, action)
    _print_results(result.results, "suggestion", done)


@app.command("accept")
def accept(suggestion_ids: SuggestionIds) -> None:
    """Accept suggestions: each face is assigned to the suggested person."""
    _bulk(suggestion_ids, "accept", "accepted")


@app.command("reject")
def reject(suggestion_ids: SuggestionIds) -> None:
    """Reject suggestions: the face is never suggested for that person again."""
    _bulk(suggestion_ids, "reject", "rejected")


@app.command("undo")
def undo(suggestion_ids: SuggestionIds) -> None:
    """Take back accepted or rejected suggestions: they are pending again."""
    _bulk(suggestion_ids, "undo", "undone")


PHASES = {
    "sampling_prototypes": "Sampling prototypes",
    "searching": "Searching faces",
    "creating_suggestions": "Creating suggestions",
}


class FindMoreProgressBars:
    """Rich progress bars for find-more's ``(phase, current, total, message)`` callback."""

    def __init__(self, out: Console) -> None:
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=out,
        )
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> FindMoreProgressBars:
        self.progress.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is not None:
            self.progress.live.transient = True  # the error is shown, not a stalled bar
        self.progress.stop()

    def __call__(self, phase: str, current: int, total: int, message: str | None) -> None:
        label = PHASES.get(phase, phase) + (f": {message}" if message else "")
        task = self.tasks.get(phase)
        if task is None:
            self.tasks[phase] = self.progress.add_task(label, total=total, completed=current)
        else:
            self.progress.update(task, description=label, total=total, completed=current)


@app.command("find-more")
def find_more_command(
    person_id: PersonArg,
    centroid: Annotated[
        bool, typer.Option("--centroid", help="Search with the person's centroid instead.")
    ] = False,
    prototypes: Annotated[
        int | None,
        typer.Option(min=1, max=1000, help="Faces sampled by quality as prototypes (default 50)."),
    ] = None,
    max_suggestions: Annotated[
        int | None,
        typer.Option(
            "--max",
            min=1,
            max=10000,
            help="Suggestions to create at most (default 100; 200 with --centroid).",
        ),
    ] = None,
    min_confidence: Annotated[
        float | None,
        typer.Option(
            min=-1.0, max=1.0, help="Lowest cosine similarity (default: the suggestion threshold)."
        ),
    ] = None,
    include_assigned: Annotated[
        bool,
        typer.Option(
            "--include-assigned",
            help="With --centroid: search faces of other persons too (find mistakes).",
        ),
    ] = False,
    pack: PackOption = None,
) -> None:
    """Find more faces of a person among the unassigned faces and suggest them.

    Searches with a quality-weighted sample of the person's faces, or with its centroid; runs
    now, with progress."""
    if include_assigned and not centroid:
        _fail("--include-assigned works with --centroid only")
    if centroid and prototypes is not None:
        _fail("--prototypes is for the sampling search, not --centroid")
    settings = _settings(pack)
    with _errors():
        factory = open_database(settings)
        with FindMoreProgressBars(console) as progress:
            result: FindMoreResult
            if centroid:
                result = find_more_by_centroid(
                    factory,
                    settings.model_pack,
                    person_id,
                    min_similarity=min_confidence,
                    max_results=max_suggestions or 200,
                    unassigned_only=not include_assigned,
                    progress=progress,
                )
            else:
                result = find_more(
                    factory,
                    settings.model_pack,
                    person_id,
                    prototype_count=prototypes or 50,
                    max_suggestions=max_suggestions or 100,
                    min_confidence=min_confidence,
                    progress=progress,
                )
    used = "the centroid" if centroid else f"{result.prototypes_used} prototypes"
    console.print(
        f"Searched {result.candidates_searched} faces with {used}: {result.matches_found} "
        f"matches, {result.suggestions_created} new suggestions "
        f"(review: image-search suggestions --person {person_id})."
    )


# settings ----------------------------------------------------------------------------------
@app.command("thresholds")
def thresholds(
    auto: Annotated[
        float | None, typer.Option("--auto", help="Auto-assign at or above this similarity.")
    ] = None,
    suggest: Annotated[
        float | None, typer.Option("--suggest", help="Suggest at or above this similarity.")
    ] = None,
    groups_per_page: Annotated[
        int | None, typer.Option(help="Review page: persons per page.")
    ] = None,
    items_per_group: Annotated[
        int | None, typer.Option(help="Review page: suggestions per person.")
    ] = None,
    reset: Annotated[
        bool, typer.Option("--reset", help="Back to the calibrated thresholds.")
    ] = False,
    pack: PackOption = None,
) -> None:
    """Show (with options: change) the pack's matching thresholds.

    Thresholds are cosine similarities to a person's prototypes; the calibrated defaults are
    shown next to them."""
    if reset and (auto is not None or suggest is not None):
        _fail("--reset cannot be combined with --auto or --suggest")
    with _session(pack) as (session, model_pack):
        service = MatchingSettingsService(session, model_pack)
        calibrated = service.calibrated_defaults()
        if reset:
            auto, suggest = calibrated
        changing = (auto, suggest, groups_per_page, items_per_group) != (None,) * 4
        current = (
            service.update(auto, suggest, groups_per_page, items_per_group)
            if changing
            else service.get()
        )
    table = Table(title=f"Model pack {model_pack}", show_edge=False)
    table.add_column("threshold (cosine similarity)")
    table.add_column("current", justify="right")
    table.add_column("calibrated", justify="right")
    for label, now, default in (
        ("auto-assign at or above", current.auto_assign_threshold, calibrated[0]),
        ("suggest at or above", current.suggestion_threshold, calibrated[1]),
    ):
        table.add_row(label, _number(now), _number(default))
    console.print(table)
    console.print(
        f"Review pages: {current.suggestion_groups_per_page} persons, "
        f"{current.suggestion_items_per_group} suggestions each."
        + (" Changed." if changing else "")
    )


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
