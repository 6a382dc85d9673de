"""Print the API's OpenAPI document as JSON: ``python -m image_search.api.openapi``.

The web UI generates its TypeScript types from this output (``ui/scripts/gen-api.mjs``), so the
document is built from the routes alone: no database is opened and no job runner starts.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from image_search.api.app import create_app
from image_search.config import Settings


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of every ``/api/v1`` route, as a JSON-ready dict."""
    return create_app(Settings(), run_jobs=False).openapi()


def main() -> None:
    json.dump(openapi_document(), sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
