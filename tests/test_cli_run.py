"""``image-search run``: the web UI and API come up at once, indexing runs in the same process
(progress visible through the API), and the server keeps serving until it is stopped."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import link_tree

INDEX = "<!doctype html><title>image-search test UI</title>"
CLI = (sys.executable, "-m", "image_search.cli")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(tmp_path: Path, models_dir: Path, web_dir: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "IMAGE_SEARCH_DATA_DIR": str(tmp_path / "data"),
        "IMAGE_SEARCH_MODELS_DIR": str(models_dir),
        "IMAGE_SEARCH_WORKERS": "2",
        "IMAGE_SEARCH_WEB_DIR": str(web_dir),
        "COLUMNS": "160",
    }
    env.pop("IMAGE_SEARCH_DATABASE_URL", None)
    return env


def _status(base: str, server: subprocess.Popen[str], deadline: float) -> dict[str, Any]:
    while True:
        try:
            response = httpx.get(f"{base}/api/v1/status", timeout=5)
            if response.status_code == 200:
                return dict(response.json())
        except httpx.TransportError:
            pass
        assert server.poll() is None, server.communicate()[0]
        assert time.monotonic() < deadline, "no status in time"
        time.sleep(0.3)


@pytest.mark.timeout(600)
def test_run_serves_the_ui_while_indexing_and_until_stopped(
    tmp_path: Path, faces_dir: Path, models_dir: Path
) -> None:
    people = ("amy", "howard")
    root = link_tree(
        tmp_path / "photos",
        {p: sorted((faces_dir / "people-small" / p).glob("*.png")) for p in people},
    )
    web_dir = tmp_path / "web"
    web_dir.mkdir()
    (web_dir / "index.html").write_text(INDEX)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [*CLI, "run", str(root), "--no-browser", "--port", str(port)],
        env=_env(tmp_path, models_dir, web_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    assert server.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(server.stdout or ()), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 300
        first = _status(base, server, deadline)  # the server answers while indexing runs
        assert first["faces"] <= 10
        while not any("Indexing finished" in line for line in lines):
            assert server.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.3)
        status = _status(base, server, deadline)
        assert status["assetsByStatus"]["image"]["done"] == 10 and status["faces"] == 10
        assert status["pending"] == 0 and status["indexing"] is False
        assert status["clusters"] == 2
        ui = httpx.get(f"{base}/library", timeout=5)
        assert ui.status_code == 200 and ui.text == INDEX
        folders = httpx.get(f"{base}/api/v1/folders", timeout=5).json()["folders"]
        assert [(f["path"], f["assetCount"]) for f in folders] == [(str(root.resolve()), 10)]
        time.sleep(1.0)  # indexing is over, the server stays up until Ctrl-C or SIGTERM
        assert server.poll() is None
        assert httpx.get(f"{base}/api/v1/status", timeout=5).status_code == 200
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        reader.join(timeout=10)
    output = "".join(lines)
    assert server.returncode == 0, output
    assert f"Web UI: {base}/" in output
    assert "Processed 10 images" in output and "found 10 faces" in output
    assert "Indexing finished" in output and "Stopping." in output


def test_run_with_a_port_in_use_fails_clearly(tmp_path: Path, models_dir: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        (tmp_path / "photos").mkdir()
        result = subprocess.run(
            [*CLI, "run", str(tmp_path / "photos"), "--no-browser", "--port", str(port)],
            env=_env(tmp_path, models_dir, tmp_path / "web"),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "could not start on" in result.stderr and "--port" in result.stderr


def test_run_of_a_missing_folder_fails_before_serving(tmp_path: Path, models_dir: Path) -> None:
    result = subprocess.run(
        [*CLI, "run", str(tmp_path / "nope"), "--no-browser"],
        env=_env(tmp_path, models_dir, tmp_path / "web"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "is not a folder" in result.stderr
    assert "Web UI" not in result.stdout
