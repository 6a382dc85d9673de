"""``image-search serve`` starts a real HTTP server with the API and the job runner."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_answers_http_and_runs_jobs(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "IMAGE_SEARCH_DATA_DIR": str(tmp_path / "data")}
    env.pop("IMAGE_SEARCH_DATABASE_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "image_search.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status = httpx.get(f"{base}/api/v1/status", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read() if server.stdout else ""
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.3)
        assert status.status_code == 200 and status.json()["faces"] == 0
        job = httpx.post(f"{base}/api/v1/faces/suggestions/assign", timeout=5).json()
        with httpx.stream("GET", f"{base}{job['eventsUrl']}", timeout=30) as events:
            lines = [line for line in events.iter_lines() if line.startswith("event:")]
        assert lines[-1] == "event: complete"
        done = httpx.get(f"{base}/api/v1/jobs/{job['jobId']}", timeout=5).json()
        assert done["result"]["status"] == "no_prototypes"
        assert httpx.get(f"{base}/docs", timeout=5).status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
