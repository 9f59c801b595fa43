"""Every error of the HTTP API, through the ASGI app with the real model on a copy of the default corpus: the
status, a JSON {"detail": ...} a user can act on, never a 500, and a failed write that changes nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.config import MB, ApiConfig
from qa.engine import Engine
from tests.conftest import private_engine, upload_scope

pytestmark = pytest.mark.slow

KEY = "errors-key-71c2"
AUTH = {"Authorization": f"Bearer {KEY}"}
LIMIT = 20 * MB


@pytest.fixture(scope="module")
def engine(default_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return private_engine(default_engine, tmp_path_factory.mktemp("api-errors"))


@pytest.fixture(scope="module")
def app(engine: Engine):
    return create_app(engine, ApiConfig(api_key=KEY))


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app) as c:
        yield c


def error(r: Any, status: int) -> str:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"] == "application/json"
    detail = r.json()["detail"]
    assert isinstance(detail, str) and detail
    return detail


def snapshot(engine: Engine) -> dict[str, Any]:
    corpus, uploads = engine.settings.corpus, engine.settings.index / "uploads"
    return {
        "documents": engine.list_documents(),
        "files": sorted((p.name, p.read_bytes()) for p in corpus.iterdir()),
        "uploads": sorted((p.name, p.read_bytes()) for p in uploads.iterdir()) if uploads.is_dir() else [],
        "generation": engine.store.generation(),
    }


# ---- ask ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, where",
    [
        ({"question": ""}, "question"),
        ({"question": "   \n\t "}, "question"),
        ({"question": "x" * 2001}, "2000"),
        ({"question": "Why?", "top_k": 0}, "top_k"),
        ({"question": "Why?", "top_k": 51}, "top_k"),
        ({"question": "Why?", "top_k": "five"}, "top_k"),
        ({"question": None}, "question"),
        ({"top_k": 3}, "question"),
        ({"question": "Why?", "doc_ids": "us-strategy-for-central-america"}, "doc_ids"),
        ({"question": "Why?", "history": ["earlier?"] * 101}, "history"),
        ([], "body"),
    ],
    ids=[
        "empty",
        "whitespace",
        "too-long",
        "top_k-0",
        "top_k-51",
        "top_k-text",
        "null",
        "missing",
        "doc_ids-str",
        "history-long",
        "array",
    ],
)
def test_ask_rejects_bad_input_with_422(client: TestClient, body: Any, where: str) -> None:
    assert where in error(client.post("/v1/ask", json=body), 422)


def test_blank_question_is_explained_in_words_not_a_regex(client: TestClient) -> None:
    for q in ("", "   \n\t "):
        detail = error(client.post("/v1/ask", json={"question": q}), 422)
        assert "the question is empty or only whitespace" in detail and "\\S" not in detail


def test_ask_blank_after_strip_is_422_from_the_engine_too(client: TestClient) -> None:
    # \x1c is whitespace to Python's str.strip() but not to the schema's pattern: the engine's check answers
    assert "empty" in error(client.post("/v1/ask", json={"question": "\x1c\x1d"}), 422)


def test_ask_broken_bodies(client: TestClient) -> None:
    assert "JSON" in error(
        client.post("/v1/ask", content=b'{"question": ', headers={"content-type": "application/json"}), 422
    )
    error(client.post("/v1/ask", content=b'{"question": "hi"}', headers={"content-type": "text/plain"}), 422)
    not_utf8 = client.post("/v1/ask", content=b"\xff\xfe\xfa", headers={"content-type": "application/json"})
    assert "parsing" in error(not_utf8, 400)
    huge = b'{"question": "' + b"a" * (2 * MB) + b'"}'
    assert "limit" in error(client.post("/v1/ask", content=huge, headers={"content-type": "application/json"}), 413)


def test_ask_about_an_unknown_document_is_404(client: TestClient) -> None:
    r = client.post(
        "/v1/ask",
        json={"question": "What is CAFTA-DR?", "doc_ids": ["us-guatemala-relations-state-dept", "no-such-doc"]},
    )
    assert "no-such-doc" in error(r, 404)


# ---- documents: reads -----------------------------------------------------------------------------------------


def test_unknown_document_routes_and_methods(client: TestClient) -> None:
    assert "no-such-doc" in error(client.get("/v1/documents/no-such-doc"), 404)
    error(client.delete("/v1/documents/no-such-doc", headers=AUTH), 404)
    error(client.get("/v1/nothing-here"), 404)
    error(client.put("/v1/documents/us-strategy-for-central-america"), 405)
    error(client.get("/v1/documents/" + "x" * 301), 422)


# ---- documents: writes need the key ---------------------------------------------------------------------------


def test_writes_are_403_when_the_server_has_no_key(engine: Engine) -> None:
    before = snapshot(engine)
    with TestClient(create_app(engine, ApiConfig(api_key=None))) as c:
        up = c.post("/v1/documents", files={"file": ("a.txt", b"Some new text about volcanoes.")}, headers=AUTH)
        assert "CITEQA_API_KEY" in error(up, 403)
        assert "CITEQA_API_KEY" in error(c.delete("/v1/documents/us-strategy-for-central-america"), 403)
        assert c.get("/v1/documents").status_code == 200  # reads stay open
    assert snapshot(engine) == before


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {KEY}"},
        {"Authorization": f"Bearer {KEY}x"},
        {"Authorization": "Bearer"},
    ],
    ids=["none", "wrong", "basic", "longer", "empty"],
)
def test_writes_are_401_without_the_right_key(client: TestClient, engine: Engine, headers: dict[str, str]) -> None:
    before = snapshot(engine)
    r = client.post("/v1/documents", files={"file": ("a.txt", b"Some new text about volcanoes.")}, headers=headers)
    assert "Bearer" in error(r, 401)
    assert r.headers["www-authenticate"] == "Bearer"
    error(client.delete("/v1/documents/us-strategy-for-central-america", headers=headers), 401)
    assert snapshot(engine) == before


# ---- documents: bad uploads -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, data, status, says",
    [
        ("tool.exe", b"MZ\x90\x00", 415, ".exe"),
        ("README", b"plain words", 415, "(none)"),
        ("notes.key", b"PK\x03\x04", 415, ".docx"),  # the message names the types citeqa reads
        ("notes.docx", b"PK\x03\x04", 422, "Word"),
        ("controls.txt", bytes(range(1, 32)) * 40, 422, "binary"),
        ("nul.md", b"text\x00with a NUL byte", 422, "binary"),
        ("blank.txt", b" \n\n \t\n", 422, "no text"),
        ("broken.pdf", b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog", 422, "PDF"),
        ("not-a.pdf", b"<html>hello</html>", 422, "PDF"),
    ],
    ids=["exe", "no-suffix", "key", "broken-docx", "binary", "nul", "blank", "broken-pdf", "html-as-pdf"],
)
def test_bad_uploads_change_nothing(
    client: TestClient, engine: Engine, name: str, data: bytes, status: int, says: str
) -> None:
    before = snapshot(engine)
    assert says in error(client.post("/v1/documents", files={"file": (name, data)}, headers=AUTH), status)
    assert snapshot(engine) == before


def test_upload_without_a_file_is_422(client: TestClient) -> None:
    assert "file" in error(client.post("/v1/documents", data={"title": "no file"}, headers=AUTH), 422)


def test_duplicate_content_is_409_naming_the_existing_document(client: TestClient, engine: Engine) -> None:
    before = snapshot(engine)
    same = (engine.settings.corpus / "us-strategy-for-central-america.txt").read_bytes()
    r = client.post("/v1/documents", files={"file": ("copy of the strategy.txt", same)}, headers=AUTH)
    assert "already" in error(r, 409)
    assert r.json()["doc_id"] == "us-strategy-for-central-america"
    assert snapshot(engine) == before


def test_uploads_over_20_mb_are_413(client: TestClient, engine: Engine) -> None:
    before = snapshot(engine)
    just_over = b"a" * (LIMIT + 1)  # the body fits the envelope allowance; the route refuses the file
    assert "20 MB" in error(client.post("/v1/documents", files={"file": ("big.txt", just_over)}, headers=AUTH), 413)
    far_over = b"a" * (25 * MB)  # refused on Content-Length alone
    assert "20 MB" in error(client.post("/v1/documents", files={"file": ("big.txt", far_over)}, headers=AUTH), 413)
    exactly = b"word " * (LIMIT // 5)
    r = client.post("/v1/documents", files={"file": ("exact.exe", exactly)}, headers=AUTH)
    error(r, 415)  # a 20 MB file is within the limit: it gets as far as the type check
    assert snapshot(engine) == before


def _call(app: Any, headers: list[tuple[bytes, bytes]], chunks: int) -> tuple[int, int, bytes]:
    """Drive the ASGI app directly: a POST /v1/documents of one multipart file part whose body is `chunks` x
    1 MiB, pulled lazily. -> (status, chunks the app pulled, response body)."""
    head = b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n\r\n'
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        if pulled >= chunks:
            return {"type": "http.disconnect"}
        pulled += 1
        body = (head if pulled == 1 else b"") + b"a" * MB + (b"\r\n--xyz--\r\n" if pulled == chunks else b"")
        return {"type": "http.request", "body": body, "more_body": pulled < chunks}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = upload_scope([(b"host", b"testserver"), (b"authorization", f"Bearer {KEY}".encode()), *headers])
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], pulled, body


def test_oversized_bodies_are_refused_before_they_are_read_whole(app: Any) -> None:
    multipart = (b"content-type", b"multipart/form-data; boundary=xyz")
    # a declared length over the limit: refused before a single byte is read
    status, pulled, body = _call(app, [multipart, (b"content-length", str(40 * MB).encode())], chunks=40)
    assert (status, pulled) == (413, 0) and b"20 MB" in body
    # no declared length (chunked): counted while streaming, refused just past the limit
    status, pulled, body = _call(app, [multipart], chunks=40)
    assert status == 413 and b"20 MB" in body
    assert pulled == 21  # 21 MiB > 20 MiB + 64 KiB envelope: the other 19 MiB are never read
