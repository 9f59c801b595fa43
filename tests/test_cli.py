"""The `qa` command as a user runs it: real processes, the real model on a copy of the default corpus."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def qa(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd or ROOT,
        env={**os.environ, **(env or {})},
    )


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *words: str) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("qa: error:"), proc.stderr
    for w in words:
        assert w in lines[0]


def test_help_lists_the_commands() -> None:
    proc = qa("--help")
    assert proc.returncode == 0
    for cmd in ("index", "ask", "eval", "serve"):
        assert cmd in proc.stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("ask", "   "), ("empty",)),
        (("ask", "x" * 2001), ("2000",)),
        (("ask", "what?", "--top-k", "0"), ("top_k",)),
        (("ask", "What is CAFTA-DR?", "--index", "/nonexistent/idx"), ("no index", "qa index")),
        (("index", "--corpus", "/nonexistent/corpus", "--index", "/tmp/unused-idx"), ("corpus folder not found",)),
        (("eval", "--gold", "/nonexistent/gold.jsonl"), ("gold set",)),
        (("eval", "--corpus", "tests/gold2/corpus", "--index", "/tmp/unused-idx"), ("default corpus", "--gold FILE")),
    ],
)
def test_bad_input_is_one_line_and_non_zero(args: tuple[str, ...], words: tuple[str, ...]) -> None:
    assert_one_line_error(qa(*args), *words)


@pytest.mark.slow
def test_index_ask_json_and_incremental_rebuild(default_corpus: Path, tmp_path: Path) -> None:
    env = {"CITEQA_CORPUS": str(default_corpus), "CITEQA_INDEX": str(tmp_path / "idx")}
    built = qa("index", "--quiet", env=env)
    assert built.returncode == 0, built.stderr
    assert "5 documents embedded" in built.stdout

    proc = qa("ask", "--json", "By how much did Guatemala agree to increase deportation flights?", env=env)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    texts = {p.name.removesuffix(".txt"): p.read_text() for p in default_corpus.glob("*.txt")}
    answer = result["answer"]
    assert answer and "40%" in answer["text"] and answer["doc_id"] == "rubio-arevalo-meeting-feb-2025"
    assert texts[answer["doc_id"]][answer["start"] : answer["end"]] == answer["text"]
    assert answer["title"].startswith("U.S. and Guatemala Strengthen")
    assert [p["rank"] for p in result["passages"]] == [1, 2, 3, 4, 5]
    for p in result["passages"]:
        assert texts[p["doc_id"]][p["start"] : p["end"]] == p["text"]
        assert set(p) >= {"rank", "text", "score", "doc_id", "title", "start", "end"}

    again = qa("index", "--quiet", env=env)
    assert "0 documents embedded, 5 unchanged" in again.stdout
    doc = default_corpus / "landau-arevalo-migration-drug-trafficking.txt"
    doc.write_text(doc.read_text() + "\nLandau also toured a coffee cooperative in Antigua.\n")
    changed = qa("index", "--quiet", env=env)
    assert "1 documents embedded, 4 unchanged" in changed.stdout


@pytest.mark.slow
def test_unanswerable_question_says_so_and_still_shows_passages(default_engine, tmp_path: Path) -> None:
    env = {"CITEQA_CORPUS": str(default_engine.settings.corpus), "CITEQA_INDEX": str(default_engine.settings.index)}
    proc = qa("ask", "Who won the 2022 FIFA World Cup final?", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "The documents don't answer this question" in proc.stdout
    assert "[1]" in proc.stdout
