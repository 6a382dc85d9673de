"""``image-search serve`` starts a real HTTP server with the API and the job runner."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from image_search.api.server import BackgroundServer
from image_search.config import Settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_serve(tmp_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``image-search serve`` on a free port over a new library; (process, base URL) once it
    answers."""
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
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{base}/api/v1/status", timeout=2)
            return server, base
        except httpx.TransportError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                output = server.stdout.read() if server.stdout else b""
                raise AssertionError(f"server did not start: {output!r}") from None
            time.sleep(0.3)


def test_serve_answers_http_and_runs_jobs(tmp_path: Path) -> None:
    server, base = _start_serve(tmp_path)
    try:
        status = httpx.get(f"{base}/api/v1/status", timeout=5)
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


def _open_status_stream(base: str) -> socket.socket:
    """A raw connection reading GET /api/v1/status/events, left open after its first event."""
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(
        f"GET /api/v1/status/events HTTP/1.1\r\nHost: {host}\r\n"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    received = b""
    while b"event: status" not in received:
        chunk = sock.recv(65536)
        assert chunk, received
        received += chunk
    assert received.startswith(b"HTTP/1.1 200"), received
    return sock


def test_serve_stops_on_sigterm_while_an_event_stream_is_open(tmp_path: Path) -> None:
    server, base = _start_serve(tmp_path)
    sock = _open_status_stream(base)
    try:
        started = time.monotonic()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            raise AssertionError("serve did not stop within 10 s of SIGTERM") from None
        assert time.monotonic() - started < 10
        # The stream was ended by the server (not left hanging): the socket reads to its end.
        sock.settimeout(5)
        while sock.recv(65536):
            pass
    finally:
        sock.close()
        if server.poll() is None:
            server.kill()
            server.wait(timeout=30)


def test_background_server_stops_while_an_event_stream_is_open(tmp_path: Path) -> None:
    server = BackgroundServer(Settings(data_dir=tmp_path / "data"), port=_free_port())
    server.start()
    sock = _open_status_stream(f"http://{server.address}")
    try:
        started = time.monotonic()
        server.stop(timeout=30)
        assert not server.thread.is_alive()
        assert time.monotonic() - started < 10
    finally:
        sock.close()
        server.stop()
