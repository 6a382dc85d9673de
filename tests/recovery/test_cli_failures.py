"""``image-search failures`` on the broken library (conftest.py): grouped output with
guidance, JSON, and the in-process --retry / --ignore / --unignore."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from tests.recovery.conftest import BrokenLibrary


def _cli(library: BrokenLibrary, *args: str) -> subprocess.CompletedProcess[str]:
    settings = library.settings
    env = {
        **os.environ,
        "IMAGE_SEARCH_DATA_DIR": str(settings.data_dir),
        "IMAGE_SEARCH_DATABASE_URL": settings.resolved_database_url,
        "IMAGE_SEARCH_MODELS_DIR": str(settings.models_dir),
        "IMAGE_SEARCH_MODEL_PACK": settings.model_pack,
        "IMAGE_SEARCH_CLIP_MODEL": "none",
        "IMAGE_SEARCH_WORKERS": "1",
        "IMAGE_SEARCH_OFFLINE": "1",
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-m", "image_search.cli", "failures", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _json(library: BrokenLibrary, *args: str) -> dict[str, Any]:
    result = _cli(library, "--json", *args)
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def _group(document: dict[str, Any], cause: str) -> dict[str, Any]:
    return next(g for g in document["groups"] if g["cause"]["id"] == cause)


@pytest.mark.parametrize("library", ["sqlite"], indirect=True)
def test_failures_lists_causes_with_guidance(library: BrokenLibrary) -> None:
    text = _cli(library)
    assert text.returncode == 0, text.stderr
    out = text.stdout
    assert "File cut short (truncated)" in out
    assert "Copy it again from the source" in out
    assert library.path("truncated.jpg") in out
    assert "[metadata, 1 attempt, last " in out and "image file is truncated" in out
    assert "Retry: image-search failures --retry truncated" in out
    assert "Not a photo or video format (unsupported_format): 1 file" in out

    document = _json(library, "--limit", "1")
    assert document["ignored"] == 0
    assert all(len(g["assets"]) == 1 for g in document["groups"])
    assert sum(g["count"] for g in document["groups"]) == document["failed"]
    assert _group(document, "empty")["assets"][0]["path"] == library.path("empty.jpg")


@pytest.mark.parametrize("library", ["sqlite"], indirect=True)
def test_failures_retry_ignore_and_unignore(library: BrokenLibrary) -> None:
    ignored = _json(library, "--ignore", "unsupported_format")
    assert ignored["action"] == {"action": "ignore", "changed": 1}
    assert ignored["ignored"] == 1
    assert ignored["ignoredGroups"][0]["cause"]["id"] == "unsupported_format"

    truncated = _group(ignored, "truncated")["count"]
    retried = _json(library, "--retry", "truncated")
    assert retried["action"]["changed"] == truncated
    assert retried["action"]["failedAgain"] >= 1, "the truncated photo is still broken"
    photo = next(
        a
        for a in _group(retried, "truncated")["assets"]
        if a["path"] == library.path("truncated.jpg")
    )
    assert photo["attempts"] == 2
    assert retried["ignored"] == 1, "a retry leaves ignored assets alone"

    restored = _json(library, "--unignore", "all")
    assert restored["action"] == {"action": "unignore", "changed": 1}
    assert restored["ignored"] == 0

    unknown = _cli(library, "--retry", "gremlins")
    assert unknown.returncode == 2 and "unknown cause 'gremlins'" in unknown.stderr
    both = _cli(library, "--retry", "all", "--ignore", "empty")
    assert both.returncode == 2 and "at most one of" in both.stderr
