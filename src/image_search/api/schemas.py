"""Base of every API shape: camelCase JSON (the API contract's spelling), snake_case Python."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

T = TypeVar("T")


class CamelModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)


class ErrorBody(CamelModel):
    code: str  # machine-readable, e.g. not_found, invalid_input, conflict, validation_error
    message: str
    details: list[dict[str, object]] | None = None


class ErrorResponse(CamelModel):
    """Every 4xx/5xx answer: ``{"error": {"code": ..., "message": ...}}``."""

    error: ErrorBody


class ItemResultSchema(CamelModel):
    """Outcome for one id of a bulk request."""

    id: int
    ok: bool
    error: str | None = None
    message: str | None = None


class Page(CamelModel, Generic[T]):
    """One page of a list: ``items`` of ``total``, 1-based ``page`` of ``pageSize`` items."""

    items: list[T]
    total: int
    page: int
    page_size: int


ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorResponse, "description": "Unknown id"},
    409: {"model": ErrorResponse, "description": "Not allowed in the resource's current state"},
    422: {"model": ErrorResponse, "description": "Invalid input"},
}

SSE_RESPONSE: dict[int | str, dict[str, object]] = {
    200: {
        "description": "Server-sent events (text/event-stream): `progress` events carrying the "
        "job as JSON, then `complete` or `failed`",
        "content": {"text/event-stream": {}},
    }
}
