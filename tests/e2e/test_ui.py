"""The web UI end to end: every ``ui/e2e/*.spec.mjs`` runs under ``node --test`` with Chromium
(playwright-core) against a real ``image-search serve`` that serves the built UI over a real
indexed library (people-small: 8 people x 5 photos, and the faceapi_bbt group photos of the
same people).

Once per session the UI is built into a temporary folder (or taken from
``IMAGE_SEARCH_E2E_WEB_DIR``, an already built ``web`` folder, for fast local iteration) and the
library is indexed into a template data dir. Each spec gets its own copy of that data dir and
its own server, so specs start from the same state (clusters, no persons) and never see each
other's changes. Specs get ``BASE_URL``, ``SCREENSHOT_DIR`` (docs/screenshots) and ``CHROMIUM``.

Missing node, ui/node_modules/playwright-core or Chromium skip these tests with the reason;
under CI (``CI=true``) they fail instead.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from image_search.config import Settings
from image_search.jobs.service import IndexService
from tests.conftest import copy_sqlite_database, link_tree, make_settings, skip_or_fail

REPO = Path(__file__).resolve().parents[2]
UI = REPO / "ui"
SPECS = sorted((UI / "e2e").glob("*.spec.mjs"))
SCREENSHOT_DIR = REPO / "docs" / "screenshots"
DATABASE_FILE = "image-search.db"

BUILD_TIMEOUT_S = 600
SERVER_START_TIMEOUT_S = 60
SPEC_TIMEOUT_S = 600
LOG_TAIL_LINES = 80
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")

pytestmark = pytest.mark.slow

# The e2e library's videos (../shared/data/video/faces: one person talking, 9.4 s, H.264) and
# its failing files (../shared/data/video/odd).
E2E_VIDEOS = ("liveportrait_source_s18.mp4",)
E2E_BROKEN_VIDEOS = ("svu_corrupted.mp4", "svu_empty.mp4")


@dataclass(frozen=True)
class Tools:
    """The programs the specs need: node (with playwright-core installed in ui/) and Chromium."""

    node: str
    chromium: Path


@dataclass(frozen=True)
class Template:
    """The indexed library every spec starts from."""

    settings: Settings
    root: Path


@pytest.fixture(scope="session")
def e2e_tools() -> Tools:
    """node, ui/node_modules/playwright-core and Chromium, or skip (fail under CI)."""
    node = shutil.which("node")
    if node is None:
        skip_or_fail("node is not on PATH: the UI tests need Node.js 20")
    if not (UI / "node_modules" / "playwright-core").is_dir():
        missing = UI / "node_modules" / "playwright-core"
        skip_or_fail(f"{missing} is missing: run scripts/bootstrap.sh")
    chromium = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    if not os.access(chromium, os.X_OK):
        skip_or_fail(f"Chromium not found at {chromium} (install it or set CHROMIUM)")
    return Tools(node, chromium)


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    result = subprocess.run(
        command,
        cwd=UI,
        env=env,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 0, f"{what} failed:\n{result.stdout}\n{result.stderr}"


@pytest.fixture(scope="session")
def web_dir(e2e_tools: Tools, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The built UI: IMAGE_SEARCH_E2E_WEB_DIR if set, else a fresh build in a temporary folder
    (API types regenerated first, as `npm run build` does)."""
    given = os.environ.get("IMAGE_SEARCH_E2E_WEB_DIR")
    if given:
        web = Path(given).resolve()
        assert (web / "index.html").is_file(), f"IMAGE_SEARCH_E2E_WEB_DIR={given}: no index.html"
        yield web
        return
    build = tmp_path_factory.mktemp("ui-build")
    env = {**os.environ, "IMAGE_SEARCH_PYTHON": sys.executable, "UI_BUILD_DIR": str(build)}
    _run([e2e_tools.node, "scripts/gen-api.mjs"], env, "npm run gen:api")
    _run([e2e_tools.node, "node_modules/vite/bin/vite.js", "build"], env, "vite build")
    # svelte.config.js keeps the kit output of a UI_BUILD_DIR build inside ui/: not needed after.
    kit_out = UI / ".svelte-kit-builds" / re.sub(r"[^A-Za-z0-9]+", "_", str(build))
    shutil.rmtree(kit_out, ignore_errors=True)
    web = build / "web"
    assert (web / "index.html").is_file(), f"the build wrote no {web / 'index.html'}"
    yield web


@pytest.fixture(scope="session")
def e2e_template(
    tmp_path_factory: pytest.TempPathFactory, faces_dir: Path, video_dir: Path, models_dir: Path
) -> Template:
    """Indexed once under one root: people-small/<person>/*.png, group/faceapi_bbt*.jpg,
    videos/ (a one-person clip, for preview snippets) and broken/ (files that fail: a
    truncated JPEG, a corrupt and an empty MP4, for the recovery center)."""
    base = tmp_path_factory.mktemp("e2e-library")
    people = faces_dir / "people-small"
    sources = {
        f"people-small/{person.name}": sorted(person.glob("*.png"))
        for person in sorted(people.iterdir())
        if person.is_dir()
    }
    sources["group"] = sorted((faces_dir / "group").glob("faceapi_bbt*.jpg"))
    sources["videos"] = [video_dir / "faces" / name for name in E2E_VIDEOS]
    sources["broken"] = [video_dir / "odd" / name for name in E2E_BROKEN_VIDEOS]
    root = link_tree(base / "library", sources)
    whole = (faces_dir / "group" / "faceapi_bbt1.jpg").read_bytes()
    (root / "broken" / "truncated.jpg").write_bytes(whole[: len(whole) // 2])
    settings = make_settings(base / "data", models_dir)
    service = IndexService(settings)
    service.index([root / folder for folder in ("people-small", "group", "videos", "broken")])
    service.factory.kw["bind"].dispose()
    return Template(settings, root)


def _copy_data_dir(template: Template, target: Path) -> Path:
    """The template's data dir (thumbnails, face crops, database) copied to ``target``."""
    source = template.settings.data_dir
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(f"{DATABASE_FILE}*"))
    copy_sqlite_database(source / DATABASE_FILE, target / DATABASE_FILE)
    return target


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve_command() -> list[str]:
    script = Path(sys.executable).parent / "image-search"
    if script.exists():
        return [str(script), "serve"]
    return [sys.executable, "-m", "image_search.cli", "serve"]


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process, SIGKILL it after 30 s, then its whole process group (workers)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


@dataclass
class Server:
    base_url: str
    log: Path


@pytest.fixture
def server(
    e2e_template: Template, web_dir: Path, tmp_path: Path, models_dir: Path
) -> Iterator[Server]:
    """`image-search serve` on a free port over a private copy of the indexed library."""
    data_dir = _copy_data_dir(e2e_template, tmp_path / "data")
    settings = e2e_template.settings
    port = _free_port()
    env = {
        **os.environ,
        "IMAGE_SEARCH_DATA_DIR": str(data_dir),
        "IMAGE_SEARCH_MODELS_DIR": str(models_dir),
        "IMAGE_SEARCH_MODEL_PACK": settings.model_pack,
        "IMAGE_SEARCH_WORKERS": str(settings.workers),
        "IMAGE_SEARCH_WEB_DIR": str(web_dir),
        "IMAGE_SEARCH_OFFLINE": "1",
    }
    env.pop("IMAGE_SEARCH_DATABASE_URL", None)  # the copied SQLite file in the data dir
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*_serve_command(), "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            try:
                if httpx.get(f"{base_url}/api/v1/status", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, f"the server exited:\n{_tail(log)}"
            assert time.monotonic() < deadline, f"the server did not start:\n{_tail(log)}"
            time.sleep(0.3)
        yield Server(base_url, log)
    finally:
        _stop(process)


def _run_spec(spec: Path, env: dict[str, str], node: str) -> tuple[int, str]:
    """Run one spec file; its exit code and output. A spec past SPEC_TIMEOUT_S is killed with
    its process group (the test runner's child and Chromium)."""
    process = subprocess.Popen(
        [node, "--test", "--test-reporter=spec", str(spec.relative_to(UI))],
        cwd=UI,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=SPEC_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        text = ANSI_ESCAPE.sub("", output.decode(errors="replace"))
        return -1, f"(killed after {SPEC_TIMEOUT_S} s)\n{text}"
    return process.returncode, ANSI_ESCAPE.sub("", output.decode(errors="replace"))


@pytest.mark.parametrize("spec", SPECS, ids=[spec.name.removesuffix(".spec.mjs") for spec in SPECS])
def test_ui_spec(spec: Path, e2e_tools: Tools, server: Server) -> None:
    """The spec passes: node's test runner exits 0 (its output and the server log otherwise)."""
    env = {
        **os.environ,
        "BASE_URL": server.base_url,
        "SCREENSHOT_DIR": str(SCREENSHOT_DIR),
        "CHROMIUM": str(e2e_tools.chromium),
        "NO_COLOR": "1",  # plain text in the assertion message
    }
    env.pop("FORCE_COLOR", None)
    code, output = _run_spec(spec, env, e2e_tools.node)
    assert code == 0, (
        f"{spec.name} failed (exit {code}):\n{output}\n"
        f"--- server log (last {LOG_TAIL_LINES} lines) ---\n{_tail(server.log)}"
    )
