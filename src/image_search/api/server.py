"""``image-search serve``: the API and the background job runner in one process."""

from __future__ import annotations

import uvicorn

from image_search.api.app import create_app
from image_search.config import Settings


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the API (OpenAPI docs at ``/docs``) with the job runner until interrupted.

    Binds to localhost by default: the API has no authentication yet, so exposing it on a
    network is the user's explicit choice (``--host 0.0.0.0``).
    """
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
