"""The built web UI served at every non-API path: files, the single-page-app fallback, cache
headers, path traversal, and the 503 page while the UI is not built."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from image_search.api.app import create_app
from image_search.config import Settings

INDEX = "<!doctype html><title>image-search</title><div id=app></div>"
SCRIPT = "console.log('immutable chunk');"


def _client(tmp_path: Path, web_dir: Path) -> TestClient:
    settings = Settings(data_dir=tmp_path / "data", database_url=None, web_dir=web_dir)
    return TestClient(create_app(settings, run_jobs=False))


@pytest.fixture
def web(tmp_path: Path) -> Iterator[TestClient]:
    web_dir = tmp_path / "web"
    (web_dir / "_app" / "immutable").mkdir(parents=True)
    (web_dir / "index.html").write_text(INDEX)
    (web_dir / "_app" / "immutable" / "x.js").write_text(SCRIPT)
    (web_dir / "_app" / "version.json").write_text('{"version":"1"}')
    (web_dir / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (tmp_path / "secret.txt").write_text("outside the web dir")
    (web_dir / "link.txt").symlink_to(tmp_path / "secret.txt")
    with _client(tmp_path, web_dir) as client:
        yield client


def test_root_and_app_routes_serve_index_html_uncached(web: TestClient) -> None:
    for path in ("/", "/library", "/people/12", "/suggestions?tab=faces", "/status/"):
        response = web.get(path)
        assert response.status_code == 200, path
        assert response.text == INDEX
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["cache-control"] == "no-cache"


def test_immutable_build_files_are_cached_for_a_year(web: TestClient) -> None:
    response = web.get("/_app/immutable/x.js")
    assert response.status_code == 200
    assert response.text == SCRIPT
    assert "javascript" in response.headers["content-type"]
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"

    head = web.head("/_app/immutable/x.js")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(SCRIPT))


def test_other_files_are_revalidated_with_their_etag(web: TestClient) -> None:
    first = web.get("/favicon.svg")
    assert first.status_code == 200 and first.text.startswith("<svg")
    assert first.headers["cache-control"] == "no-cache"
    assert web.get("/_app/version.json").headers["cache-control"] == "no-cache"
    again = web.get("/favicon.svg", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


def test_a_missing_build_file_is_a_404_not_the_app(web: TestClient) -> None:
    response = web.get("/_app/immutable/gone.js")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_api_paths_keep_their_json_errors(web: TestClient) -> None:
    for path in ("/api", "/api/", "/api/v1/nope", "/api/v2/status"):
        response = web.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found", path
    assert web.post("/api/v1/nope").json()["error"]["code"] == "not_found"
    assert web.post("/api/v1/status").status_code == 405
    assert web.get("/api/v1/status").json()["faces"] == 0
    assert web.get("/docs").status_code == 200
    assert web.get("/openapi.json").json()["info"]["title"] == "image-search"


def test_nothing_outside_the_web_dir_is_served(web: TestClient) -> None:
    for path in ("/../secret.txt", "/..%2fsecret.txt", "/%2e%2e/secret.txt", "/link.txt"):
        response = web.get(path)
        assert "outside the web dir" not in response.text, path
        assert response.status_code in (200, 404), path  # 200: the app's index.html


def test_without_a_build_non_api_paths_explain_how_to_build(tmp_path: Path) -> None:
    empty = tmp_path / "web"  # does not even exist
    with _client(tmp_path, empty) as client:
        for path in ("/", "/people", "/_app/immutable/x.js"):
            response = client.get(path)
            assert response.status_code == 503, path
            assert "not built" in response.text and "scripts/bootstrap.sh" in response.text
            assert "npm run build" in response.text
        assert client.get("/api/v1/status").status_code == 200
        assert client.get("/api/v1/nope").json()["error"]["code"] == "not_found"

        empty.mkdir()
        (empty / "index.html").write_text(INDEX)  # built while the server runs
        assert client.get("/people").text == INDEX


def test_the_default_web_dir_is_the_packages_web_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    import image_search

    monkeypatch.delenv("IMAGE_SEARCH_WEB_DIR", raising=False)
    assert Settings().web_dir == Path(image_search.__file__).parent / "web"
    monkeypatch.setenv("IMAGE_SEARCH_WEB_DIR", "/srv/ui")
    assert Settings().web_dir == Path("/srv/ui")
