"""``image-search serve``: the API and the background job runner in one process; and the same
server in a background thread for ``image-search run`` (index while the UI is open)."""

from __future__ import annotations

import threading
import time

import uvicorn

from image_search.api.app import create_app
from image_search.config import Settings
from image_search.errors import ImageSearchError


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the API (OpenAPI docs at ``/docs``) with the job runner until interrupted.

    Binds to localhost by default: the API has no authentication yet, so exposing it on a
    network is the user's explicit choice (``--host 0.0.0.0``).
    """
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


def browser_url(host: str, port: int) -> str:
    """The address a browser on this machine opens for a server bound to ``host``."""
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/"


class BackgroundServer:
    """The API, the web UI and the job runner served from a daemon thread, so the calling
    thread can index meanwhile. Only warnings are logged (the caller owns the terminal)."""

    def __init__(self, settings: Settings, host: str = "127.0.0.1", port: int = 8000) -> None:
        config = uvicorn.Config(
            create_app(settings), host=host, port=port, log_level="warning", access_log=False
        )
        self.server = uvicorn.Server(config)
        self.address = f"{host}:{port}"
        self.thread = threading.Thread(target=self.server.run, name="image-search-api", daemon=True)

    def start(self, timeout: float = 60.0) -> None:
        """Start and wait until the server accepts connections (the database is migrated by
        then). Raises ``ImageSearchError`` when it stops first (for example: the port is in
        use) or takes longer than ``timeout`` seconds."""
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise ImageSearchError(
                    f"the web server could not start on {self.address} (is the port in use? "
                    "choose another with --port)"
                )
            time.sleep(0.05)

    def wait(self) -> None:
        """Block until the server stops; Ctrl-C (KeyboardInterrupt) comes through."""
        while self.thread.is_alive():
            self.thread.join(0.5)

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the server to finish (open requests and the job runner) and wait for it."""
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout)
