"""`make fuzz`: hostile clients against a real `qa serve` on 127.0.0.1 (default corpus, the API key set), each
part bounded in count and time; the results replace the "Hostile clients" section of docs/BENCHMARKS.md.

    1. schemathesis: >= 5,000 generated cases on every operation (positive and negative), with the key; some
       uploads carry valid files (and succeed) and some deletes name a fuzz upload (and succeed). Counted: 5xx.
    2. 200 malformed uploads of every kind (random bytes, truncated and encrypted PDFs, bad encodings, odd names,
       huge and deeply nested HTML, duplicates in parallel). Counted: 5xx; the default documents unchanged.
    3. 10,000 asks at concurrency 32 while 20 documents are uploaded and deleted. Counted: errors, citations that
       do not resolve to the document text.
    4. 300 slow connections (half a request head, or nothing) held open. Measured: /health latency meanwhile,
       and when each slow connection was closed, against CITEQA_HEADER_TIMEOUT.

    python -m bench.fuzz [--quick] [--out docs/BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import re
import socket
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.serving import KEY, Server, document_texts, load
from bench.stats import percentiles
from bench.system import ROOT

AUTH = {"Authorization": f"Bearer {KEY}"}
HEADER_TIMEOUT = 10.0  # the default of CITEQA_HEADER_TIMEOUT, which the server runs with here
BEGIN, END = "<!-- make fuzz: begin -->", "<!-- make fuzz: end -->"


def note(i: int) -> bytes:
    return (
        f"Fuzz note {i}\n\nThe harbour office at Santo Tomas de Castilla logged {i * 7 + 3} banana crates on "
        f"pier {i % 9}. Inspector {i} signed the ledger at {i % 24:02d}:15.\n"
    ).encode()


# ---- 1. schemathesis ---------------------------------------------------------------------------------------------


def schemathesis_run(url: str, target: int) -> dict[str, Any]:
    import schemathesis
    from hypothesis import HealthCheck, given, seed, settings
    from schemathesis import GenerationMode
    from schemathesis.config import SchemathesisConfig

    config = SchemathesisConfig.from_dict({"headers": AUTH})
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json", config=config)
    operations = [r.ok() for r in schema.get_all_operations()]  # type: ignore[union-attr]  # an Err raises
    statuses: dict[str, int] = {}
    server_errors: list[str] = []
    uploaded: list[str] = []
    counts = {"cases": 0, "valid_uploads": 0, "uploads_201": 0, "deletes_200": 0}
    lock = threading.Lock()

    def call(case: Any) -> None:
        i = counts["cases"]
        kwargs: dict[str, Any] = {"headers": AUTH, "timeout": 60}
        if case.method == "POST" and case.path == "/v1/documents" and i % 8 == 0:
            counts["valid_uploads"] += 1
            title = case.body.get("title") if isinstance(case.body, dict) else None
            kwargs["files"] = {"file": (f"fuzz-{i}.txt", note(i))}
            kwargs["data"] = {"title": title} if isinstance(title, str) else {}
        if case.method == "DELETE" and uploaded and i % 3 == 0:
            case.path_parameters = {"doc_id": uploaded.pop()}
        response = case.call(**kwargs)
        with lock:
            counts["cases"] += 1
            key = f"{case.method} {case.path} {response.status_code}"
            statuses[key] = statuses.get(key, 0) + 1
            if response.status_code >= 500:
                server_errors.append(f"{key}: {response.text[:200]}")
            if case.method == "POST" and case.path == "/v1/documents" and response.status_code == 201:
                counts["uploads_201"] += 1
                uploaded.append(response.json()["doc_id"])
            if case.method == "DELETE" and response.status_code == 200:
                counts["deletes_200"] += 1

    t0 = time.perf_counter()
    round_ = 0
    while counts["cases"] < target:
        for operation in operations:
            has_input = bool(list(operation.body) or list(operation.path_parameters) or list(operation.query))
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                if round_ and not has_input or (mode is GenerationMode.NEGATIVE and not has_input):
                    continue

                @seed(20261125 + round_)
                @given(case=operation.as_strategy(generation_mode=mode))
                @settings(
                    max_examples=max(20, min(150, target // 10)),
                    deadline=None,
                    database=None,
                    suppress_health_check=list(HealthCheck),
                )
                def run(case: Any) -> None:
                    call(case)

                run()
        round_ += 1
    with __import__("httpx").Client(timeout=60, headers=AUTH) as c:  # leave the corpus as it was
        for doc_id in uploaded:
            c.delete(f"{url}/v1/documents/{doc_id}")
    return {
        **counts,
        "operations": len(operations),
        "server_errors": len(server_errors),
        "server_error_examples": server_errors[:5],
        "statuses": dict(sorted(statuses.items())),
        "wall_s": time.perf_counter() - t0,
    }


# ---- 2. malformed uploads ----------------------------------------------------------------------------------------


def _pdf(text: str) -> bytes:
    from tests.test_edges import pdf

    return pdf(*[text[i : i + 70] for i in range(0, len(text), 70)])


def malformed(n: int, rng: random.Random) -> list[tuple[str, str, bytes]]:
    """(kind, file name, bytes) x n, cycling through the kinds."""
    from tests.test_edges import encrypted

    good_pdf = _pdf("Lake Peten Itza surrounds the island town of Flores in northern Guatemala.")
    kinds: list[Any] = [
        ("random bytes .txt", lambda i: (f"r{i}.txt", rng.randbytes(rng.randint(1, 200_000)))),
        ("random bytes .pdf", lambda i: (f"r{i}.pdf", rng.randbytes(rng.randint(1, 200_000)))),
        ("random bytes .html", lambda i: (f"r{i}.html", rng.randbytes(rng.randint(1, 50_000)))),
        ("truncated PDF", lambda i: (f"t{i}.pdf", good_pdf[: rng.randint(0, len(good_pdf) - 1)])),
        ("PDF with a user password", lambda i: (f"e{i}.pdf", encrypted(good_pdf, f"pw{i}"))),
        (
            "AES PDF, owner password only",
            lambda i: (f"o{i}.pdf", encrypted(_pdf(f"Owner-locked note {i} about the port of Champerico."), "")),
        ),
        ("latin-1 text", lambda i: (f"l{i}.txt", f"Caf\u00e9 {i} con leche en Quetzaltenango.".encode("latin-1"))),
        ("UTF-16 without BOM", lambda i: (f"u{i}.md", f"Nota {i} sobre Cob\u00e1n.".encode("utf-16-le"))),
        ("invalid UTF-8", lambda i: (f"b{i}.txt", b"ok \xc3\x28 \xa0\xa1 " * (i + 1))),
        ("NUL bytes", lambda i: (f"n{i}.txt", b"text\x00" * (i + 1))),
        ("odd name: 300-char stem", lambda i: ("\u00e9" * 150 + "y" * 150 + f"{i}.txt", note(10_000 + i))),
        ("odd name: path traversal", lambda i: (f"../../../etc/passwd{i}.txt", note(20_000 + i))),
        ("odd name: control characters", lambda i: (f"a\tb\x01c{i}.txt", note(30_000 + i))),
        ("odd name: no stem", lambda i: (".txt", note(40_000 + i))),
        ("odd name: no suffix", lambda i: (f"README{i}", note(50_000 + i))),
        (
            "huge HTML (15 MB of markup)",
            lambda i: (
                f"h{i}.html",
                b"<html><body><p>Quetzal feathers "
                + str(i).encode()
                + b".</p>"
                + b'<span data-pad="'
                + b"q" * 1000
                + b'"></span>' * 15_000,
            ),
        ),
        (
            "deeply nested HTML (200,000 levels)",
            lambda i: (f"d{i}.html", b"<div>" * 200_000 + f"deep text {i}".encode() + b"</div>" * 200_000),
        ),
        ("unclosed HTML tags", lambda i: (f"x{i}.htm", b"<html><head><title>" + b"<b><i><script>" * 5000)),
        ("empty file", lambda i: (f"z{i}.txt", b"")),
    ]
    out = []
    for i in range(n):
        kind, make = kinds[i % len(kinds)]
        name, data = make(i)
        out.append((kind, name, data))
    return out


def malformed_run(url: str, n: int) -> dict[str, Any]:
    import httpx

    before = document_texts(url)
    rng = random.Random(20261125)
    cases = malformed(n - 8, rng)
    statuses: dict[str, dict[int, int]] = {}
    created: list[str] = []
    errors: list[str] = []
    t0 = time.perf_counter()
    with httpx.Client(timeout=300, headers=AUTH) as c:
        for kind, name, data in cases:
            try:
                r = c.post(f"{url}/v1/documents", files={"file": (name, data)})
                code = r.status_code
            except httpx.HTTPError as exc:
                code, r = 0, None
                errors.append(f"{kind}: {exc!r}"[:200])
            statuses.setdefault(kind, {}).setdefault(code, 0)
            statuses[kind][code] += 1
            if r is not None and code == 201:
                created.append(r.json()["doc_id"])
            if code >= 500:
                errors.append(f"{kind}: {code} {r.text[:200] if r is not None else ''}")

    def dup(_: int) -> int:  # the same new file from 8 clients at once: one 201, seven 409
        with httpx.Client(timeout=300, headers=AUTH) as c:
            r = c.post(f"{url}/v1/documents", files={"file": ("duplicate.txt", note(99_999))})
            if r.status_code == 201:
                created.append(r.json()["doc_id"])
            return r.status_code

    with ThreadPoolExecutor(8) as pool:
        dups = list(pool.map(dup, range(8)))
    statuses["duplicates in parallel (8)"] = {s: dups.count(s) for s in sorted(set(dups))}
    errors += [f"duplicate: {s}" for s in dups if s >= 500]
    after = document_texts(url)
    intact = all(after.get(d) == t for d, t in before.items())
    with httpx.Client(timeout=60, headers=AUTH) as c:
        for doc_id in created:
            c.delete(f"{url}/v1/documents/{doc_id}")
        health = c.get(f"{url}/health").status_code
    failed = sum(n for v in statuses.values() for code, n in v.items() if code >= 500 or code == 0)
    return {
        "uploads": len(cases) + len(dups),
        "server_errors": failed,
        "errors": errors[:5],
        "statuses": statuses,
        "created": len(created),
        "index_intact": intact,
        "documents_after_cleanup": len(document_texts(url)),
        "documents_before": len(before),
        "health_after": health,
        "wall_s": time.perf_counter() - t0,
    }


# ---- 3. asks with writes -----------------------------------------------------------------------------------------


def asks_with_writes(url: str, asks: int, writes: int) -> dict[str, Any]:
    import httpx

    texts = document_texts(url)
    write_errors: list[str] = []
    done = {"uploads": 0, "deletes": 0}

    def writer() -> None:
        with httpx.Client(timeout=300, headers=AUTH) as c:
            for i in range(writes):
                r = c.post(f"{url}/v1/documents", files={"file": (f"load-{i}.txt", note(70_000 + i))})
                if r.status_code != 201:
                    write_errors.append(f"upload {r.status_code}")
                    continue
                done["uploads"] += 1
                doc_id = r.json()["doc_id"]
                texts[doc_id] = c.get(f"{url}/v1/documents/{doc_id}").json()["text"]
                time.sleep(0.5)
                d = c.delete(f"{url}/v1/documents/{doc_id}")
                if d.status_code != 200:
                    write_errors.append(f"delete {d.status_code}")
                else:
                    done["deletes"] += 1
                time.sleep(0.5)

    w = threading.Thread(target=writer)
    w.start()
    result = load(url, asks, 32, texts)
    w.join()
    result.pop("rss_samples", None)
    return {**result, **done, "write_errors": write_errors}


# ---- 4. slow connections -----------------------------------------------------------------------------------------


def slow_run(port: int, n: int) -> dict[str, Any]:
    import httpx

    t0 = time.monotonic()
    socks: list[tuple[socket.socket, float]] = []
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        if i % 3:  # two in three send half a head; one in three sends nothing
            s.sendall(b"POST /v1/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: app")
        socks.append((s, time.monotonic()))
    opened = time.monotonic() - t0
    health_ms: list[float] = []
    health_codes: list[int] = []
    with httpx.Client(timeout=30) as c:
        for _ in range(20):
            t = time.perf_counter()
            health_codes.append(c.get(f"http://127.0.0.1:{port}/health").status_code)
            health_ms.append((time.perf_counter() - t) * 1000)
            time.sleep(0.1)
    closed_after: list[float] = []
    still_open = 0
    deadline = time.monotonic() + HEADER_TIMEOUT + 20
    for s, started in socks:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            while s.recv(4096):
                pass
            closed_after.append(time.monotonic() - started)
        except TimeoutError:
            still_open += 1
        except ConnectionResetError:
            closed_after.append(time.monotonic() - started)
        finally:
            s.close()
    return {
        "connections": n,
        "open_s": opened,
        "health_codes": sorted(set(health_codes)),
        "health_ms": percentiles(health_ms, (50, 95)),
        "health_max_ms": max(health_ms),
        "closed": len(closed_after),
        "still_open": still_open,
        "closed_after_s": {
            "min": min(closed_after, default=float("nan")),
            "max": max(closed_after, default=float("nan")),
        },
        "header_timeout_s": HEADER_TIMEOUT,
    }


# ---- report ------------------------------------------------------------------------------------------------------


def render(r: dict[str, Any], command: str) -> str:
    s, m, a, w = r["schemathesis"], r["malformed"], r["asks"], r["slow"]
    ok = lambda cond: "yes" if cond else "no"  # noqa: E731
    lines = [
        BEGIN,
        "## Hostile clients (`make fuzz`)",
        "",
        f"Generated by `{command}` on {r['date']}, commit {r['commit']}, in {r['wall_s'] / 60:.1f} minutes, "
        "against a real `qa serve` on 127.0.0.1 (default corpus, API key set, default timeouts: "
        f"CITEQA_HEADER_TIMEOUT {HEADER_TIMEOUT:g} s, CITEQA_KEEPALIVE_TIMEOUT 75 s, CITEQA_MAX_CONNECTIONS 512).",
        "",
        "| check | measured | met |",
        "|---|---|---|",
        f"| schemathesis ≥ 5,000 cases, authenticated writes that succeed, 0 server errors | {s['cases']:,} cases "
        f"on {s['operations']} operations; {s['uploads_201']} uploads 201, {s['deletes_200']} deletes 200; "
        f"{s['server_errors']} server errors | {ok(s['cases'] >= 5000 and s['server_errors'] == 0)} |",
        f"| 200 malformed uploads: 0 server errors, index intact | {m['uploads']} uploads, {m['server_errors']} "
        f"server errors; default documents unchanged: {m['index_intact']}; {m['documents_after_cleanup']} "
        f"documents after cleanup (before: {m['documents_before']}) | "
        f"{ok(m['server_errors'] == 0 and m['index_intact'] and m['documents_after_cleanup'] == m['documents_before'])} |",
        f"| {a['requests']:,} asks at concurrency 32 with {a['uploads']} uploads and {a['deletes']} deletes: 0 "
        f"errors, every citation resolves | {a['errors']} errors, {a['bad_citations']} unresolved citations "
        f"({a['unverifiable']} cited a document deleted before it could be checked), write errors "
        f"{len(a['write_errors'])}; p50 {a['latency_ms']['p50']:.0f} ms, p99 {a['latency_ms']['p99']:.0f} ms | "
        f"{ok(a['errors'] == 0 and a['bad_citations'] == 0 and not a['write_errors'])} |",
        f"| {w['connections']} slow connections: /health answers, the slow ones closed within the header timeout "
        f"| /health {w['health_codes']} p50 {w['health_ms']['p50']:.0f} ms, max {w['health_max_ms']:.0f} ms; "
        f"{w['closed']} closed after {w['closed_after_s']['min']:.1f}–{w['closed_after_s']['max']:.1f} s, "
        f"{w['still_open']} still open | "
        f"{ok(w['health_codes'] == [200] and w['still_open'] == 0 and w['closed_after_s']['max'] <= HEADER_TIMEOUT + 2)} |",
        "",
        "Malformed uploads, status counts by kind:",
        "",
        "| kind | statuses |",
        "|---|---|",
    ]
    lines += [f"| {k} | {', '.join(f'{c}: {n}' for c, n in sorted(v.items()))} |" for k, v in m["statuses"].items()]
    lines += [
        "",
        f"schemathesis status counts ({s['wall_s']:.0f} s): "
        + "; ".join(f"`{k}` {v}" for k, v in s["statuses"].items()),
        "",
        END,
    ]
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str) -> None:
    """Replace the block between the markers in `path`, or append it."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END) + r"\n?", re.S)
    new = pattern.sub(lambda _: section, old) if pattern.search(old) else old.rstrip("\n") + "\n\n" + section
    path.write_text(new, encoding="utf-8")


def main() -> int:
    import subprocess

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="a CI-sized run (a few hundred cases, 20 slow connections)")
    p.add_argument("--out", default=str(ROOT / "docs" / "BENCHMARKS.md"))
    args = p.parse_args()
    sizes = (300, 40, 1000, 4, 20) if args.quick else (5000, 200, 10_000, 20, 300)
    t0 = time.perf_counter()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit.stdout.strip() or "?",
    }
    with tempfile.TemporaryDirectory(prefix="citeqa-fuzz-") as tmp:
        server = Server(Path(tmp))
        server.index()
        server.start()
        try:
            for name, run in (
                ("slow", lambda: slow_run(server.port, sizes[4])),
                ("malformed", lambda: malformed_run(server.url, sizes[1])),
                ("asks", lambda: asks_with_writes(server.url, sizes[2], sizes[3])),
                ("schemathesis", lambda: schemathesis_run(server.url, sizes[0])),
            ):
                t = time.perf_counter()
                results[name] = run()
                print(f"{name}: {time.perf_counter() - t:.0f} s {results[name]}"[:1500], file=sys.stderr, flush=True)
        finally:
            server.stop()
    results["wall_s"] = time.perf_counter() - t0
    command = "make fuzz" + (" ARGS=--quick" if args.quick else "")
    write_section(Path(args.out), render(results, command))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
