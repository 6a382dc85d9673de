"""Page arithmetic shared by every paginated list (1-based pages, bounded page sizes)."""

from __future__ import annotations

from image_search.errors import InvalidInputError


def check_size(size: int, max_size: int, what: str = "pageSize") -> None:
    """Raises ``InvalidInputError`` unless ``1 <= size <= max_size``."""
    if not 1 <= size <= max_size:
        raise InvalidInputError(f"{what} must be between 1 and {max_size}")


def page_offset(page: int, page_size: int, max_size: int, what: str = "pageSize") -> int:
    """Row offset of 1-based ``page``; raises ``InvalidInputError`` for page < 1 or a page size
    outside 1..``max_size``."""
    if page < 1:
        raise InvalidInputError("page starts at 1")
    check_size(page_size, max_size, what)
    return (page - 1) * page_size
