"""The built web UI (a single-page app) served next to the API.

Every GET or HEAD of a path outside ``/api/`` is answered from ``Settings.web_dir``: an existing
file as itself, anything else as ``index.html`` (the app's client-side router shows the page).
Hashed build output under ``/_app/immutable/`` is cached for a year; everything else must be
revalidated (``no-cache``; ETag and Last-Modified make that a cheap 304). Unknown ``/api/...``
paths never reach this code, so they keep the JSON 404 of ``api/errors.py``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, Response
from starlette.routing import Match, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

IMMUTABLE_PREFIX = "_app/immutable/"
IMMUTABLE_CACHE = "public, max-age=31536000, immutable"
REVALIDATE_CACHE = "no-cache"
NOT_BUILT_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>image-search: web UI not built</title></head>
<body><h1>The web UI is not built</h1>
<p>Run <code>scripts/bootstrap.sh</code> (needs Node.js &gt;= 20.19), or
<code>cd ui &amp;&amp; npm install --no-save &amp;&amp; npm run build</code>, then reload this page.
The REST API works meanwhile: <a href="/docs">/docs</a>.</p>
</body></html>
"""


class SinglePageApp(StaticFiles):
    """``StaticFiles`` (path-traversal safe lookups, ETag, HEAD, ranges) with the single-page
    app fallback to ``index.html`` and the cache headers above. Answers 503 with a short HTML
    page while ``index.html`` is missing (the UI was never built)."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory=directory, check_dir=False)
        self.index = directory / "index.html"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self.index.is_file():
            await HTMLResponse(NOT_BUILT_HTML, status_code=503)(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def get_response(self, path: str, scope: Scope) -> Response:
        relative = path.replace(os.sep, "/")
        try:
            response = await super().get_response(path, scope)
        except HTTPException as exc:
            # A missing build file (an old tab asking for a replaced chunk) is a 404, not the
            # app's HTML: the browser would otherwise cache HTML as a script.
            if exc.status_code != 404 or relative.startswith("_app/"):
                raise
            response = await super().get_response("index.html", scope)
            relative = "index.html"
        immutable = relative.startswith(IMMUTABLE_PREFIX)
        response.headers["Cache-Control"] = IMMUTABLE_CACHE if immutable else REVALIDATE_CACHE
        return response


class _UiRoute(Route):
    """``/{path}`` for GET and HEAD, except paths under ``/api/`` (left to the API's 404)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match is not Match.NONE:
            path = str(child_scope.get("path_params", {}).get("path", ""))
            if path == "api" or path.startswith("api/"):
                return Match.NONE, {}
        return match, child_scope


def install_web_ui(app: FastAPI, web_dir: Path) -> None:
    """Serve the built UI in ``web_dir`` at every non-API path. Install after the API routers:
    routes match in order, and this one matches every GET path."""
    endpoint: Any = SinglePageApp(web_dir)
    app.router.routes.append(
        _UiRoute("/{path:path}", endpoint, methods=["GET", "HEAD"], include_in_schema=False)
    )
