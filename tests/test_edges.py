"""The HTTP edge under hostile input (issue 13), through the ASGI app on a small corpus with the fake embedder:
long file names, made-up methods and /metrics, 405 `Allow`, the write key checked before the body is read,
security headers, the offline /docs page, encrypted PDFs."""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.config import ApiConfig
from qa.engine import Engine, Settings
from tests.conftest import FakeEmbedder, upload_scope

KEY = "edges-key-5d1a"
AUTH = {"Authorization": f"Bearer {KEY}"}
VOLCANO = (
    "Volcanoes of Guatemala\n\nFuego is one of the most active volcanoes in Central America. It erupts "
    "ash plumes several times an hour, and the observatory at Panimache watches it day and night.\n"
)
RIVERS = (
    "Rivers of the highlands\n\nThe Motagua river runs from the western highlands to the Gulf of Honduras. "
    "Its valley carries the main road and railway between the capital and the Caribbean coast.\n"
)


def small_engine(root: Path) -> Engine:
    corpus = root / "corpus"
    corpus.mkdir(parents=True)
    (corpus / "volcanoes.txt").write_text(VOLCANO, encoding="utf-8")
    (corpus / "rivers.txt").write_text(RIVERS, encoding="utf-8")
    return Engine.open(Settings(corpus=corpus, index=root / ".citeqa"), build_if_missing=True, embedder=FakeEmbedder())


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return small_engine(tmp_path)


@pytest.fixture
def client(engine: Engine):
    with TestClient(create_app(engine, ApiConfig(api_key=KEY))) as c:
        yield c


def pdf(*lines: str) -> bytes:
    """A one-page PDF whose text is `lines`, written by hand (Helvetica, one text object per line)."""
    ops = ["BT", "/F1 12 Tf", "72 720 Td"]
    for line in lines:
        ops += [f"({line.replace('(', '[').replace(')', ']')}) Tj", "0 -16 Td"]
    stream = "\n".join([*ops, "ET"]).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out, offsets = io.BytesIO(), []
    out.write(b"%PDF-1.4\n")
    for n, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % n + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def encrypted(data: bytes, user_password: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# 1 ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stem", ["y" * 251, "Ä" * 200, "report " * 60])
def test_a_long_file_name_uploads_under_a_short_doc_id(client: TestClient, engine: Engine, stem: str) -> None:
    r = client.post(
        "/v1/documents",
        files={"file": (f"{stem}.txt", b"The cloud forest of Sierra de las Minas shelters quetzals and tree ferns.")},
        headers=AUTH,
    )
    assert r.status_code == 201, r.text
    doc_id = r.json()["doc_id"]
    assert 0 < len(doc_id) <= 120 and re.fullmatch(r"[a-z0-9._-]+", doc_id)
    assert client.get(f"/v1/documents/{doc_id}").json()["text"].startswith("The cloud forest")
    assert len(engine.list_documents()) == 3


# 2 ---------------------------------------------------------------------------------------------------------------


def test_made_up_methods_do_not_become_metric_labels(client: TestClient) -> None:
    for n in range(50):
        assert client.request(f"ZQWERTY{n}", "/health").status_code == 405
    client.request("PATCH", "/health")
    scrape = client.get("/metrics").text
    assert "ZQWERTY" not in scrape
    methods = set(re.findall(r'method="([^"]*)"', scrape))
    assert methods <= {"GET", "POST", "DELETE", "HEAD", "OPTIONS", "PUT", "PATCH", "other"}
    assert re.search(r'citeqa_http_requests_total\{method="other",route="/health",status="405"\} 50\.0', scrape)


# 4 ---------------------------------------------------------------------------------------------------------------


def _post_unread(app: Any, authorization: bytes | None) -> tuple[int, int]:
    """A 19 MB multipart POST /v1/documents driven through the ASGI app. -> (status, body chunks the app pulled)."""
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": b"a" * (1 << 20), "more_body": pulled < 19}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [
        (b"host", b"testserver"),
        (b"content-type", b"multipart/form-data; boundary=xyz"),
        (b"content-length", str(19 << 20).encode()),
    ]
    if authorization is not None:
        headers.append((b"authorization", authorization))
    scope = upload_scope(headers)
    asyncio.run(app(scope, receive, send))
    return next(m for m in sent if m["type"] == "http.response.start")["status"], pulled


@pytest.mark.parametrize(
    "authorization, status", [(None, 401), (b"Bearer wrong", 401), (b"Basic " + KEY.encode(), 401)]
)
def test_a_write_without_the_key_is_refused_before_its_body_is_read(
    engine: Engine, authorization: bytes | None, status: int
) -> None:
    assert _post_unread(create_app(engine, ApiConfig(api_key=KEY)), authorization) == (status, 0)
    assert _post_unread(create_app(engine, ApiConfig(api_key=None)), b"Bearer " + KEY.encode()) == (403, 0)


def test_a_delete_without_the_key_is_refused_and_the_document_stays(client: TestClient, engine: Engine) -> None:
    r = client.delete("/v1/documents/rivers", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer" and "Bearer" in r.json()["detail"]
    assert client.get("/v1/documents/rivers").status_code == 200
    assert client.delete("/v1/documents/rivers", headers=AUTH).status_code == 200


# 5, 6 ------------------------------------------------------------------------------------------------------------


def test_html_responses_carry_security_headers(client: TestClient) -> None:
    for path in ("/", "/docs"):
        r = client.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp and "unsafe" not in csp
        assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
    assert client.get("/health").headers["x-content-type-options"] == "nosniff"


def test_api_docs_are_served_by_citeqa_without_a_cdn(client: TestClient) -> None:
    page = client.get("/docs").text
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(s.startswith("/") or s.startswith("data:") for s in sources), sources
    assert "<script>" not in page  # no inline script: it runs under the CSP
    for src in sources:
        if src.startswith("/"):
            r = client.get(src)
            assert r.status_code == 200 and len(r.content) > 100, src
    bundle = client.get("/docs/assets/swagger-ui-bundle.js")
    assert "SwaggerUIBundle" in bundle.text and bundle.headers["content-type"].startswith(
        ("text/javascript", "application/javascript")
    )
    assert client.get("/docs/assets/nothing.js").status_code == 404
    assert client.get("/redoc").status_code == 404  # the CDN-only ReDoc page is gone rather than blank


# 7 ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, allowed",
    [("/v1/documents", {"GET", "POST"}), ("/v1/documents/rivers", {"GET", "DELETE"}), ("/v1/ask", {"POST"})],
)
def test_405_lists_every_allowed_method(client: TestClient, path: str, allowed: set[str]) -> None:
    r = client.request("PUT", path, headers=AUTH)
    assert r.status_code == 405 and r.json()["detail"]
    assert {m.strip() for m in r.headers["allow"].split(",")} == allowed


# 9 ---------------------------------------------------------------------------------------------------------------


def test_encrypted_pdfs_open_and_password_protected_ones_say_so(client: TestClient, engine: Engine) -> None:
    plain = pdf(
        "Lake Atitlan lies in the Guatemalan highlands.", "It was formed by a caldera eruption 84,000 years ago."
    )
    r = client.post("/v1/documents", files={"file": ("atitlan.pdf", encrypted(plain, ""))}, headers=AUTH)
    assert r.status_code == 201, r.text
    assert "caldera eruption" in client.get(f"/v1/documents/{r.json()['doc_id']}").json()["text"]
    locked = encrypted(pdf("Lake Izabal is the largest lake in Guatemala."), "user-secret")
    r = client.post("/v1/documents", files={"file": ("izabal.pdf", locked)}, headers=AUTH)
    assert r.status_code == 422 and "password" in r.json()["detail"]
    assert len(engine.list_documents()) == 3


# the CI-sized version of `make fuzz`'s malformed uploads --------------------------------------------------------


def test_malformed_uploads_of_every_kind_never_fail_the_server_or_the_index(client: TestClient, engine: Engine) -> None:
    import random

    from bench.fuzz import malformed

    before = {d["doc_id"]: client.get(f"/v1/documents/{d['doc_id']}").json()["text"] for d in engine.list_documents()}
    seen: dict[str, set[int]] = {}
    for kind, name, data in malformed(19, random.Random(7)):  # one of each kind
        r = client.post("/v1/documents", files={"file": (name, data)}, headers=AUTH)
        seen.setdefault(kind, set()).add(r.status_code)
        assert r.status_code in (201, 409, 413, 415, 422), (kind, r.status_code, r.text[:300])
        assert (
            r.headers["content-type"] == "application/json" and r.json()["detail" if r.status_code != 201 else "doc_id"]
        )
    assert seen["PDF with a user password"] == {422} and seen["AES PDF, owner password only"] == {201}
    assert seen["odd name: path traversal"] == {201}
    for doc_id, text in before.items():
        assert client.get(f"/v1/documents/{doc_id}").json()["text"] == text
    for folder in (engine.settings.corpus, engine.settings.index / "uploads"):  # no file written anywhere else
        assert all(
            p.resolve().parent == folder.resolve()
            for p in folder.glob("**/*.*")
            if p.is_file() and p.suffix in (".txt", ".md", ".html", ".htm", ".pdf")
        )
    assert not (engine.settings.corpus.parent / "etc").exists() and not (engine.settings.index / "etc").exists()


@pytest.mark.parametrize("offset, status", [(2**53, 200), (2**63, 422), (10**30, 422), (-1, 422)])
def test_a_huge_page_offset_is_a_422_not_a_500(client: TestClient, offset: int, status: int) -> None:
    r = client.get("/v1/documents", params={"offset": offset})  # found by `make fuzz`: 2**63 overflowed SQLite
    assert r.status_code == status, r.text
    if status == 200:
        assert r.json()["documents"] == [] and r.json()["total"] == 2
    else:
        assert "offset" in r.json()["detail"]
