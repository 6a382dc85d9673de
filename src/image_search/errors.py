"""One error hierarchy for services, rendered by the CLI (and later the API) in one place."""

from __future__ import annotations


class ImageSearchError(Exception):
    """Base error: a message for the user and the HTTP status it maps to."""

    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code


class NotFoundError(ImageSearchError):
    status_code = 404
    code = "not_found"


class InvalidInputError(ImageSearchError):
    status_code = 422
    code = "invalid_input"


class ModelError(ImageSearchError):
    """A model file is missing, corrupt, or cannot be downloaded."""

    status_code = 503
    code = "model_unavailable"


class MediaError(ImageSearchError):
    """A file cannot be read as the media kind it claims to be."""

    status_code = 422
    code = "unreadable_media"


class ConflictError(ImageSearchError):
    """The request is valid but the resource's state does not allow it (e.g. accepting a
    suggestion that was already rejected)."""

    status_code = 409
    code = "conflict"
