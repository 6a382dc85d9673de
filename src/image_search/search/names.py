"""Name search over hierarchical person names.

A person's ``name`` may be a path such as ``Family/Smith/Anna``; its display name is
``display_name`` when set, else the last part (``Anna``). A query matches, accent- and
case-insensitively (Unicode NFKD without combining marks, then casefold), and results rank:

0. the query equals the display name, the full name, any part of the path, or (with ``/`` in
   the query) the path's ending: ``Smith`` finds every ``.../Smith/...``, ``Anna`` finds Anna;
1. a whole word of a part or of the display name equals the query (``Jean`` in ``Jean-Pierre``);
2. a part, display name or word starts with the query (``Ann`` in ``Anna``);
3. the query occurs anywhere, or each of its words starts a word of the name;

so a name that contains another (``Ann`` / ``Anna``, ``Jean`` / ``Jean-Pierre``) ranks the exact
match first. Ties go to the shorter display name, then alphabetical order.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from image_search.errors import InvalidInputError, NotFoundError

WORD_SPLIT = re.compile(r"[^\w]+")
MAX_RANK = 3


def fold(text: str) -> str:
    """Accent- and case-insensitive form: NFKD, combining marks dropped, casefolded, single
    spaces (``"Zoé  Ångström"`` -> ``"zoe angstrom"``)."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())


def name_parts(name: str) -> list[str]:
    """``"Family/Smith/Anna"`` -> ``["Family", "Smith", "Anna"]`` (empty parts dropped)."""
    return [part.strip() for part in name.split("/") if part.strip()]


def shown_name(name: str, display_name: str | None) -> str:
    """The name to show: the display name when set, else the last part of the path."""
    if display_name:
        return display_name
    parts = name_parts(name)
    return parts[-1] if parts else name


def match_rank(query: str, name: str, display_name: str | None = None) -> int | None:
    """Rank (0 best .. 3) of ``name`` / ``display_name`` for ``query``; None: no match."""
    wanted = fold(query)
    if not wanted:
        return None
    parts = [fold(p) for p in name_parts(name)]
    shown = fold(shown_name(name, display_name))
    path = "/".join(parts)
    wholes = {*parts, shown, path}
    if "/" in wanted:
        wanted_path = "/".join(fold(p) for p in name_parts(query))
        if path == wanted_path or path.endswith("/" + wanted_path):
            return 0
        return 3 if wanted_path in path else None
    if wanted in wholes:
        return 0
    words = {w for text in wholes for w in WORD_SPLIT.split(text) if w}
    if wanted in words:
        return 1
    if any(text.startswith(wanted) for text in (*wholes, *words)):
        return 2
    if any(wanted in text for text in wholes):
        return 3
    query_words = [w for w in WORD_SPLIT.split(wanted) if w]
    if len(query_words) > 1 and all(any(w.startswith(q) for w in words) for q in query_words):
        return 3
    return None


@dataclass(frozen=True, slots=True)
class NamedItem:
    id: int
    name: str
    display_name: str | None


def rank_names(query: str, items: Iterable[NamedItem]) -> list[tuple[NamedItem, int]]:
    """The items matching ``query``, best first: (item, rank)."""
    matches = []
    for item in items:
        rank = match_rank(query, item.name, item.display_name)
        if rank is not None:
            matches.append((item, rank))
    matches.sort(
        key=lambda m: (
            m[1],
            len(shown_name(m[0].name, m[0].display_name)),
            fold(m[0].name),
            m[0].id,
        )
    )
    return matches


def resolve_name(query: str, items: Iterable[NamedItem]) -> NamedItem:
    """The one person ``query`` names: the only exact match (rank 0), else the only match.

    Raises ``NotFoundError`` when nothing matches and ``InvalidInputError`` when several persons
    match equally well (the message lists them with their ids).
    """
    matches = rank_names(query, items)
    if not matches:
        raise NotFoundError(f"no person matches {query!r}")
    best = [item for item, rank in matches if rank == matches[0][1]]
    if len(best) == 1:
        return best[0]
    listed = ", ".join(f"{item.name} (person {item.id})" for item in best[:10])
    raise InvalidInputError(f"{query!r} names several persons: {listed}; give the id instead")
