"""``image-search search``: the search API's filters and ranking on the command line.

Attached to the main ``app`` flat by cli.py, like cli_people.py.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from image_search.cli_people import _errors
from image_search.config import get_settings
from image_search.db.engine import session_scope
from image_search.errors import InvalidInputError
from image_search.jobs.service import open_database
from image_search.people.repository import PeopleRepository
from image_search.search.filters import SearchFilters, parse_date_bound, place_filters
from image_search.search.names import resolve_name
from image_search.search.service import SearchRequest, SearchResult, SearchService

app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False)
console = Console()


@app.command("search")
def search(
    text: Annotated[
        str | None, typer.Argument(help="Free text, ranked by CLIP similarity (optional).")
    ] = None,
    person: Annotated[
        list[str] | None,
        typer.Option("--person", "-p", help="Person id or name (repeat for several people)."),
    ] = None,
    any_person: Annotated[
        bool, typer.Option("--any", help="Any of the people instead of all of them.")
    ] = False,
    taken_from: Annotated[
        str | None, typer.Option("--from", help="Taken on or after (YYYY-MM-DD).")
    ] = None,
    taken_to: Annotated[
        str | None, typer.Option("--to", help="Taken on or before (YYYY-MM-DD).")
    ] = None,
    make: Annotated[str | None, typer.Option(help="Camera make (exact).")] = None,
    model: Annotated[str | None, typer.Option(help="Camera model (exact).")] = None,
    near: Annotated[
        str | None,
        typer.Option(help="Place: LAT,LON,KM (within KM kilometres of LAT,LON)."),
    ] = None,
    box: Annotated[
        str | None, typer.Option(help="Place: SOUTH,WEST,NORTH,EAST in degrees.")
    ] = None,
    folder: Annotated[str | None, typer.Option(help="Absolute folder (with subfolders).")] = None,
    kind: Annotated[str | None, typer.Option(help="image or video.")] = None,
    unnamed: Annotated[
        bool | None,
        typer.Option("--unnamed/--no-unnamed", help="Only assets with (without) unnamed faces."),
    ] = None,
    similar_to: Annotated[
        int | None, typer.Option("--like", help="Asset id: the images most like it.")
    ] = None,
    limit: Annotated[int, typer.Option(help="Results to show (1..500).")] = 20,
    page: Annotated[int, typer.Option(help="Page of results.")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Find photos by people (all of them, or --any), text, date, camera, place, folder, type.

    Example: image-search search "beach at sunset" --person Anna --person Bob --from 2020-01-01
    """
    settings = get_settings()
    with _errors():
        box_values = _floats(box, 4, "--box") if box else (None, None, None, None)
        near_values = _floats(near, 3, "--near") if near else (None, None, None)
        geo_box, geo_circle = place_filters(box_values, near_values)  # type: ignore[arg-type]
        factory = open_database(settings)
        with session_scope(factory) as session:
            items = PeopleRepository(session).named_items(include_hidden=True)
            person_ids = [
                int(p) if p.isdigit() else resolve_name(p, items).id for p in person or []
            ]
            filters = SearchFilters(
                person_ids=person_ids,
                person_mode="any" if any_person else "all",
                taken_from=parse_date_bound(taken_from, end=False, name="--from"),
                taken_to=parse_date_bound(taken_to, end=True, name="--to"),
                camera_make=make,
                camera_model=model,
                box=geo_box,
                circle=geo_circle,
                folder=folder,
                kind=kind,
                has_unnamed_faces=unnamed,
            )
            request = SearchRequest(filters, text, similar_to, page, limit)
            result = SearchService(session, settings).search(request)
            _print(result, as_json)


def _floats(value: str, count: int, option: str) -> tuple[float, ...]:
    try:
        numbers = tuple(float(part) for part in value.split(","))
    except ValueError:
        numbers = ()
    if len(numbers) != count:
        raise InvalidInputError(f"{option} takes {count} numbers separated by commas")
    return numbers


def _print(result: SearchResult, as_json: bool) -> None:
    if as_json:
        rows = [
            {
                "id": h.asset.id,
                "path": h.asset.path,
                "takenAt": h.asset.taken_at.isoformat() if h.asset.taken_at else None,
                "faces": h.face_count,
                "score": h.score,
            }
            for h in result.hits
        ]
        console.print_json(json.dumps({"mode": result.mode, "total": result.total, "items": rows}))
        return
    table = Table(title=f"{result.total} matching ({result.mode} search)")
    table.add_column("asset", justify="right")
    if result.mode != "filters":
        table.add_column("score", justify="right")
    table.add_column("taken")
    table.add_column("faces", justify="right")
    table.add_column("path")
    for hit in result.hits:
        taken = hit.asset.taken_at.strftime("%Y-%m-%d %H:%M") if hit.asset.taken_at else ""
        cells = [str(hit.asset.id)]
        if result.mode != "filters":
            cells.append(f"{hit.score:.3f}" if hit.score is not None else "")
        cells += [taken, str(hit.face_count), escape(hit.asset.path)]
        table.add_row(*cells)
    console.print(table)
