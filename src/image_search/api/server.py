"""``image-search serve``: the API and the background job runner in one process; and the same
server in a background thread for ``image-search run`` (index while the UI is open)."""

from __future__ import annotations

import contextlib
import copy
import socket
import sys
import threading
import time

import uvicorn
from fastapi import FastAPI

from image_search.api.app import create_app
from image_search.config import Settings
from image_search.errors import ImageSearchError
from image_search.jobs.events import close_streams
from image_search.library.watcher import start_watcher

# Seconds open requests get to finish once the server is asked to stop (SIGTERM, Ctrl-C);
# then they are cancelled. Event streams (``/status/events`` lasts up to an hour) end by
# themselves at their next poll, this bounds everything else.
GRACEFUL_SHUTDOWN_SECONDS = 3


class _Server(uvicorn.Server):
    """A uvicorn server that ends the app's server-sent event streams when it shuts down,
    instead of waiting for them to close (uvicorn waits for every open connection)."""

    def __init__(self, app: FastAPI, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.web_app = app

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        factory = getattr(self.web_app.state, "read_session_factory", None)
        if factory is not None:
            close_streams(factory)
        await super().shutdown(sockets)


def _config(
    app: FastAPI, host: str, port: int, log_level: str, access_log: bool = True
) -> uvicorn.Config:
    # image-search's own loggers (the library watcher, the job runners) print like uvicorn's.
    log_config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    log_config["loggers"]["image_search"] = {
        "handlers": ["default"],
        "level": log_level.upper(),
        "propagate": False,
    }
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        log_config=log_config,
        access_log=access_log,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the API (OpenAPI docs at ``/docs``) with the job runner until interrupted
    (SIGINT or SIGTERM; open event streams end, other requests get
    ``GRACEFUL_SHUTDOWN_SECONDS`` to finish). Exits with status 3 when the server cannot
    start (for example: the port is in use), like ``uvicorn.run``.

    Binds to localhost by default: the API has no authentication yet, so exposing it on a
    network is the user's explicit choice (``--host 0.0.0.0``).
    """
    app = create_app(settings)
    server = _Server(app, _config(app, host, port, "info"))
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        sys.exit(3)


def browser_url(host: str, port: int) -> str:
    """The address a browser on this machine opens for a server bound to ``host``."""
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/"


class BackgroundServer:
    """The API, the web UI and the job runner served from a daemon thread, so the calling
    thread can index meanwhile. Only warnings are logged (the caller owns the terminal). The
    library watcher starts on ``watch``, once the caller's indexing is over (never two
    processors over the same new files)."""

    def __init__(self, settings: Settings, host: str = "127.0.0.1", port: int = 8000) -> None:
        self.settings = settings
        self.app = app = create_app(settings.model_copy(update={"watch": False}))
        self.server: uvicorn.Server = _Server(
            app, _config(app, host, port, "warning", access_log=False)
        )
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

    def watch(self) -> bool:
        """Start the library watcher of the started server (its changes go to the server's
        index runner) unless ``settings.watch`` is off; True when it started. It stops with
        the server."""
        state = self.app.state
        if not self.settings.watch or getattr(state, "watcher", None) is not None:
            return False
        state.watcher = start_watcher(self.settings, state.session_factory, state.index_runner)
        return True

    def wait(self) -> None:
        """Block until the server stops; Ctrl-C (KeyboardInterrupt) comes through."""
        while self.thread.is_alive():
            self.thread.join(0.5)

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the server to finish (open requests and the job runner) and wait for it."""
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout)
