"""The HTTP API through the ASGI app, with the real model on a copy of the default corpus (one engine and app
per module): every route's success path, offsets that resolve, uploads that are answerable at once and survive
on disk, metrics, request ids in the access log, CORS, the chat page. Errors: tests/test_api_errors.py."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.app import STATIC, create_app
from api.config import ApiConfig
from qa.engine import Engine
from tests.conftest import private_engine

pytestmark = pytest.mark.slow

KEY = "test-key-3f9a"
AUTH = {"Authorization": f"Bearer {KEY}"}

OBSERVATORY = (
    "# The Quetzal Observatory\n\n"
    "The Quetzal Observatory opened near Antigua Guatemala in 2019. "
    "It measures volcanic ash plumes from the Fuego volcano with lidar instruments. "
    "The director of the Quetzal Observatory is the physicist Lucia Ixchel Perez.\n"
)

SEEN = OBSERVATORY.replace("# ", "", 1).strip()  # the rendered Markdown: the text citations index


def make_pdf(lines: list[str]) -> bytes:
    """A minimal one-page PDF with these lines of Helvetica text (ASCII, no parentheses)."""
    content = b"BT /F1 12 Tf 72 720 Td " + b" 0 -16 Td ".join(b"(%s) Tj" % ln.encode() for ln in lines) + b" ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return out


@pytest.fixture(scope="module")
def engine(default_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return private_engine(default_engine, tmp_path_factory.mktemp("api"))


@pytest.fixture(scope="module")
def client(engine: Engine):
    with TestClient(create_app(engine, ApiConfig(api_key=KEY))) as c:
        yield c


def without_timings(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k != "timings_ms"}


def assert_citations_resolve(client: TestClient, body: dict[str, Any]) -> None:
    texts: dict[str, str] = {}

    def text_of(doc_id: str) -> str:
        if doc_id not in texts:
            r = client.get(f"/v1/documents/{doc_id}")
            assert r.status_code == 200, r.text
            texts[doc_id] = r.json()["text"]
        return texts[doc_id]

    for p in body["passages"]:
        assert text_of(p["doc_id"])[p["start"] : p["end"]] == p["text"]
        if p["highlight"]:
            assert p["start"] <= p["highlight"]["start"] < p["highlight"]["end"] <= p["end"]
    a = body["answer"]
    if a is not None:
        assert text_of(a["doc_id"])[a["start"] : a["end"]] == a["text"]
        # every returned passage that contains the answer sentence highlights it, and at least one does:
        # the answer always comes from a returned passage, so its citation resolves in the response
        holders = 0
        for p in body["passages"]:
            holds = p["doc_id"] == a["doc_id"] and p["start"] <= a["start"] and a["end"] <= p["end"]
            assert (p["highlight"] == {"start": a["start"], "end": a["end"]}) == holds, p
            holders += holds
        assert holders >= 1


# ---- ask ------------------------------------------------------------------------------------------------------


def test_ask_answers_with_the_core_answer_json(client: TestClient, engine: Engine) -> None:
    # The contract, on a question the answer step is sure of; answer quality is measured by the gold sets.
    q = "Which free trade agreement are the United States and Guatemala parties to?"
    r = client.post("/v1/ask", json={"question": q})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert without_timings(body) == without_timings(engine.ask(q).to_dict())
    assert set(body["timings_ms"]) >= {"embed", "total"}
    assert body["answered"] is True
    assert body["answer"]["doc_id"] == "us-guatemala-relations-state-dept"
    assert "CAFTA-DR" in " ".join(p["text"] for p in body["passages"])
    assert [p["rank"] for p in body["passages"]] == [1, 2, 3, 4, 5]
    assert_citations_resolve(client, body)


def test_ask_gives_the_phrase_a_calibrated_confidence_and_the_spelling(client: TestClient) -> None:
    body = client.post(
        "/v1/ask", json={"question": "By how much did Guatemala agree to increase deportation flights?"}
    ).json()
    a = body["answer"]
    assert a is not None and a["span"]["text"] == "40%"
    assert a["start"] <= a["span"]["start"] < a["span"]["end"] <= a["end"]
    assert a["text"][a["span"]["start"] - a["start"] : a["span"]["end"] - a["start"]] == "40%"
    assert 0.0 <= body["confidence"] <= 1.0 and body["confidence_label"] == "likely"
    assert body["spelling"] is None
    typo = client.post("/v1/ask", json={"question": "Wat is the Safe Thrid Contry Agrement?"}).json()
    assert typo["spelling"]["searched_for"] == "what is the Safe third country agreement?"
    assert {c["word"] for c in typo["spelling"]["corrections"]} == {"Wat", "Thrid", "Contry", "Agrement"}
    assert typo["answered"] is True and "Safe Third Country" in typo["answer"]["text"]
    assert_citations_resolve(client, typo)


def test_ask_top_k_and_doc_ids_restrict_the_passages(client: TestClient, engine: Engine) -> None:
    q = "What did the United States and Guatemala agree on migration?"
    one = client.post("/v1/ask", json={"question": q, "top_k": 1}).json()
    assert len(one["passages"]) == 1
    assert_citations_resolve(client, one)
    only = "zamani-guatemala-foreign-policy"
    r = client.post("/v1/ask", json={"question": q, "top_k": 3, "doc_ids": [only]})
    assert r.status_code == 200
    passages = r.json()["passages"]
    assert 1 <= len(passages) <= 3 and {p["doc_id"] for p in passages} == {only}
    assert_citations_resolve(client, r.json())
    # [] and null both mean "every document"
    empty = client.post("/v1/ask", json={"question": q, "top_k": 10, "doc_ids": []}).json()
    null = client.post("/v1/ask", json={"question": q, "top_k": 10, "doc_ids": None}).json()
    assert without_timings(empty) == without_timings(null) == without_timings(engine.ask(q, top_k=10).to_dict())
    other = "us-guatemala-relations-state-dept"
    two = client.post("/v1/ask", json={"question": q, "top_k": 10, "doc_ids": [only, other, only]}).json()
    assert {p["doc_id"] for p in two["passages"]} <= {only, other}


def test_ask_reads_a_follow_up_with_the_history(client: TestClient, engine: Engine) -> None:
    history = ["What is the Safe Third Country Agreement?"]
    q = "When was it suspended?"
    body = client.post("/v1/ask", json={"question": q, "history": history}).json()
    assert body["context"]["used"] is True
    assert "Safe Third Country" in body["context"]["query"]
    assert without_timings(body) == without_timings(engine.ask(q, history=history).to_dict())
    alone = client.post("/v1/ask", json={"question": q}).json()
    assert alone["context"]["used"] is False


def test_ask_passes_only_the_last_ten_history_turns(engine: Engine) -> None:
    seen: list[list[str] | None] = []

    class Recording:
        def __getattr__(self, name: str) -> Any:
            return getattr(engine, name)

        def ask(
            self, question: str, top_k: int = 5, doc_ids: list[str] | None = None, history: list[str] | None = None
        ) -> Any:
            seen.append(history)
            return engine.ask(question, top_k, doc_ids, history)

    with TestClient(create_app(Recording(), ApiConfig())) as c:
        turns = [f"Question number {i} about Guatemala?" for i in range(14)]
        assert c.post("/v1/ask", json={"question": "And then?", "history": turns}).status_code == 200
        assert c.post("/v1/ask", json={"question": "And then?", "history": None}).status_code == 200
    assert seen == [turns[-10:], None]


# ---- documents ------------------------------------------------------------------------------------------------


def test_list_documents(client: TestClient, engine: Engine) -> None:
    body = client.get("/v1/documents").json()
    docs = {d["doc_id"]: d for d in body["documents"]}
    assert body["count"] == len(docs) == 5
    rubio = docs["rubio-arevalo-meeting-feb-2025"]
    assert rubio["title"].startswith("U.S. and Guatemala Strengthen Strategic Cooperation")
    assert rubio["metadata"]["date"] == "2025-04-22"
    assert docs["zamani-guatemala-foreign-policy"]["metadata"]["author"] == "Zamani M"
    for doc_id, d in docs.items():
        assert d["characters"] == len(client.get(f"/v1/documents/{doc_id}").json()["text"]) > 0
        assert d["chunks"] >= 1
    assert sum(d["chunks"] for d in docs.values()) == client.get("/health").json()["chunks"]


def test_get_document_gives_the_text_that_offsets_index(client: TestClient, engine: Engine) -> None:
    body = client.get("/v1/documents/us-strategy-for-central-america").json()
    doc = engine.document("us-strategy-for-central-america")
    assert body == {
        "doc_id": doc.doc_id,
        "title": "U.S. Strategy for Central America",
        "source": doc.source,
        "metadata": dict(doc.metadata),
        "characters": len(doc.text),
        "text": doc.text,
        "type": "txt",
        "pages": [],
        "paragraphs": body["paragraphs"],  # checked below
    }
    spans = body["paragraphs"]
    assert spans and all(0 <= s < e <= len(doc.text) for s, e in spans)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))
    assert "U.S. Strategy for Central America" in [doc.text[s:e] for s, e in spans]  # a heading is a block


def test_a_hard_wrapped_article_comes_in_paragraphs_not_lines(client: TestClient, engine: Engine) -> None:
    """The research article wraps every ~80 characters: its paragraphs hold several lines each."""
    doc_id = next(d["doc_id"] for d in client.get("/v1/documents").json()["documents"] if "zamani" in d["doc_id"])
    body = client.get(f"/v1/documents/{doc_id}").json()
    lines = [ln for ln in body["text"].split("\n") if ln.strip()]
    wrapped = [body["text"][s:e] for s, e in body["paragraphs"] if "\n" in body["text"][s:e]]
    assert wrapped and len(body["paragraphs"]) < len(lines) / 2


def test_upload_is_answerable_at_once_saved_to_disk_and_deletable(client: TestClient, engine: Engine) -> None:
    corpus = engine.settings.corpus
    uploads = engine.settings.index / "uploads"  # uploads live in a folder citeqa owns, not the user's corpus
    question = {"question": "Who is the director of the Quetzal Observatory?"}
    before = client.post("/v1/ask", json=question).json()
    assert all(p["doc_id"] != "quetzal-observatory" for p in before["passages"])

    r = client.post(
        "/v1/documents",
        headers=AUTH,
        data={"title": "Quetzal Observatory fact sheet"},
        files={"file": ("Quetzal Observatory.md", OBSERVATORY.encode(), "text/markdown")},
    )
    assert r.status_code == 201, r.text
    new = r.json()
    assert new == {
        "doc_id": "quetzal-observatory",
        "title": "Quetzal Observatory fact sheet",
        "source": "quetzal-observatory.md",
        "characters": len(SEEN),
        "created": True,
    }
    assert r.headers["location"] == "/v1/documents/quetzal-observatory"
    assert (uploads / "quetzal-observatory.md").read_bytes() == OBSERVATORY.encode()
    assert not (corpus / "quetzal-observatory.md").exists()
    listed = client.get("/v1/documents").json()
    assert listed["count"] == listed["total"] == 6
    mine = next(d for d in listed["documents"] if d["doc_id"] == "quetzal-observatory")
    assert mine["title"] == "Quetzal Observatory fact sheet" and mine["origin"] == "upload" and mine["type"] == "md"
    assert client.get("/v1/documents/quetzal-observatory").json()["text"] == SEEN  # Markdown as a reader sees it

    after = client.post("/v1/ask", json=question).json()
    assert after["answer"]["doc_id"] == "quetzal-observatory"
    assert "Lucia Ixchel Perez" in after["answer"]["text"]
    assert after["passages"][0]["doc_id"] == "quetzal-observatory"
    assert_citations_resolve(client, after)

    r = client.delete("/v1/documents/quetzal-observatory", headers=AUTH)
    assert r.status_code == 200
    assert r.json() == {"doc_id": "quetzal-observatory", "title": "Quetzal Observatory fact sheet", "deleted": True}
    assert not (uploads / "quetzal-observatory.md").exists()
    assert client.get("/v1/documents/quetzal-observatory").status_code == 404
    assert client.get("/v1/documents").json()["count"] == 5
    gone = client.post("/v1/ask", json=question).json()
    assert all(p["doc_id"] != "quetzal-observatory" for p in gone["passages"])


def test_upload_html_and_pdf(client: TestClient) -> None:
    html = (
        b"<html><head><title>Lake Atitlan water survey</title><style>p{color:red}</style></head><body>"
        b"<nav>Home | About</nav><h1>Lake Atitlan water survey</h1>"
        b"<p>The 2023 survey of Lake Atitlan found cyanobacteria blooms in four of nine bays.</p></body></html>"
    )
    r = client.post("/v1/documents", headers=AUTH, files={"file": ("atitlan.html", html, "text/html")})
    assert r.status_code == 201, r.text
    assert r.json()["title"] == "Lake Atitlan water survey"
    text = client.get("/v1/documents/atitlan").json()["text"]
    assert "cyanobacteria blooms in four of nine bays" in text and "color:red" not in text

    pdf = make_pdf(
        ["The Tikal canopy census of 2022 counted 312 howler monkeys.", "Rangers repeated the census every spring."]
    )
    r = client.post("/v1/documents", headers=AUTH, files={"file": ("tikal census.pdf", pdf, "application/pdf")})
    assert r.status_code == 201, r.text
    assert r.json()["doc_id"] == "tikal-census"
    body = client.post("/v1/ask", json={"question": "How many howler monkeys did the Tikal census count?"}).json()
    assert body["answer"]["doc_id"] == "tikal-census" and "312 howler monkeys" in body["answer"]["text"]
    assert_citations_resolve(client, body)
    for doc_id in ("atitlan", "tikal-census"):
        assert client.delete(f"/v1/documents/{doc_id}", headers=AUTH).status_code == 200


# ---- health, metrics, page, request ids, CORS -------------------------------------------------------------------


def test_health(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["documents"] == 5 and body["chunks"] > 5
    assert body["model"] == "all-MiniLM-L6-v2"
    assert re.match(r"\d{4}-\d\d-\d\dT", body["built_at"])


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_count_requests_by_route_and_report_the_index_size(engine: Engine) -> None:
    with TestClient(create_app(engine, ApiConfig())) as c:  # a second app in this process: its own registry
        c.post("/v1/ask", json={"question": "What goods does the US buy from Guatemala?"})
        c.post("/v1/ask", json={"question": " "})
        c.get("/v1/documents/no-such-document")
        r = c.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    s = _samples(r.text)
    ask = (("method", "POST"), ("route", "/v1/ask"))
    assert s[("citeqa_http_requests_total", (*ask, ("status", "200")))] == 1
    assert s[("citeqa_http_requests_total", (*ask, ("status", "422")))] == 1
    by_template = (("method", "GET"), ("route", "/v1/documents/{doc_id}"), ("status", "404"))
    assert s[("citeqa_http_requests_total", by_template)] == 1
    assert s[("citeqa_http_request_duration_seconds_count", ask)] == 2
    assert s[("citeqa_index_documents", ())] == 5
    assert s[("citeqa_index_chunks", ())] == engine.health()["chunks"]


def test_chat_page_static_files_and_docs(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = STATIC / "index.html"
    if page.is_file():
        assert r.content == page.read_bytes()
    else:
        assert "citeqa" in r.text
    for path in sorted(p for p in STATIC.glob("*") if p.is_file()) if STATIC.is_dir() else []:
        got = client.get(f"/static/{path.name}")
        assert got.status_code == 200 and got.content == path.read_bytes()
    assert client.get("/static/no-such-file.js").status_code == 404
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert {"/v1/ask", "/v1/documents", "/v1/documents/{doc_id}", "/health"} <= set(spec["paths"])
    ask_schema = spec["components"]["schemas"]["AskRequest"]
    assert ask_schema["examples"] and ask_schema["properties"]["top_k"]["maximum"] == 50


def test_request_ids_are_kept_or_made_and_logged(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="citeqa.access"):
        kept = client.get("/v1/documents/zamani-guatemala-foreign-policy", headers={"X-Request-ID": "trace-42.a"})
        made = client.get("/health", headers={"X-Request-ID": "bad id\twith spaces"})
        other = client.get("/health")
    assert kept.headers["x-request-id"] == "trace-42.a"
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
    assert other.headers["x-request-id"] != made.headers["x-request-id"]
    lines = [r.__dict__["fields"] for r in caplog.records if r.name == "citeqa.access"]  # set by extra=
    first = next(f for f in lines if f["request_id"] == "trace-42.a")
    assert first["route"] == "/v1/documents/{doc_id}" and first["status"] == 200
    assert first["path"] == "/v1/documents/zamani-guatemala-foreign-policy" and first["method"] == "GET"
    assert first["duration_ms"] >= 0
    from api.logs import JsonFormatter

    record = next(r for r in caplog.records if getattr(r, "fields", {}).get("request_id") == "trace-42.a")
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "trace-42.a" and line["logger"] == "citeqa.access" and line["status"] == 200


def test_cors_is_off_unless_configured(engine: Engine, client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    origin = {"Origin": "http://localhost:5173"}
    assert "access-control-allow-origin" not in client.get("/health", headers=origin).headers
    monkeypatch.setenv("CITEQA_CORS_ORIGINS", "http://localhost:5173, https://example.org")
    monkeypatch.setenv("CITEQA_API_KEY", "from-env")
    config = ApiConfig.from_env()
    assert config.cors_origins == ("http://localhost:5173", "https://example.org") and config.api_key == "from-env"
    with TestClient(create_app(engine, config)) as c:
        pre = c.options(
            "/v1/ask",
            headers={
                **origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        assert pre.status_code == 200
        assert pre.headers["access-control-allow-origin"] == "http://localhost:5173"
        got = c.get("/health", headers=origin)
        assert got.headers["access-control-allow-origin"] == "http://localhost:5173"
        assert "x-request-id" in got.headers["access-control-expose-headers"].lower()
        stranger = c.get("/health", headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in stranger.headers


def test_without_the_static_folder_the_page_is_a_placeholder(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import api.app

    monkeypatch.setattr(api.app, "STATIC", tmp_path / "no-static")
    with TestClient(create_app(engine, ApiConfig())) as c:
        page = c.get("/")
        assert page.status_code == 200 and "/docs" in page.text
        assert c.get("/static/app.js").status_code == 404


def test_an_unexpected_failure_is_a_json_500_with_the_request_id(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        def __getattr__(self, name: str) -> Any:
            return getattr(engine, name)

        def page(self, offset: int = 0, limit: int = 100) -> tuple[int, list[dict[str, Any]]]:
            raise RuntimeError("disk on fire")

    with caplog.at_level(logging.ERROR, logger="citeqa.api"), TestClient(create_app(Broken(), ApiConfig())) as c:
        r = c.get("/v1/documents", headers={"X-Request-ID": "boom-1"})
        assert c.get("/health").status_code == 200  # the app keeps serving
    assert r.status_code == 500 and r.headers["x-request-id"] == "boom-1"
    assert r.json() == {"detail": "internal error; quote request id boom-1"}
    failure = next(rec for rec in caplog.records if rec.name == "citeqa.api")
    assert failure.exc_info is not None
    assert failure.__dict__["fields"]["request_id"] == "boom-1" and "disk on fire" in str(failure.exc_info[1])


def test_the_documented_ask_examples_answer(client: TestClient) -> None:
    examples = client.get("/openapi.json").json()["components"]["schemas"]["AskRequest"]["examples"]
    assert len(examples) >= 3
    for example in examples:
        r = client.post("/v1/ask", json=example)
        assert r.status_code == 200, (example, r.text)
        assert r.json()["passages"] and r.json()["question"] == example["question"]
        if example.get("doc_ids"):
            assert {p["doc_id"] for p in r.json()["passages"]} <= set(example["doc_ids"])
