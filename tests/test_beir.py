"""`qa eval --beir` on a committed SciFact slice (tests/data/scifact-slice: 20 claims, 131 abstracts).

The metrics citeqa prints are checked against ir-measures (an independent implementation of trec_eval's
measures) on the very same run; the corpus is indexed once into a cache keyed by its hash.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import main
from qa.beir import cached_index, evaluate, load_dataset, run_queries
from qa.retrieve import RetrievalConfig

ROOT = Path(__file__).resolve().parent.parent
SLICE = ROOT / "tests" / "data" / "scifact-slice"


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    cache = tmp_path_factory.mktemp("beir-cache")
    proc = subprocess.run(
        [sys.executable, "-m", "cli", "eval", "--beir", str(SLICE), "--cache", str(cache), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), cache


@pytest.mark.slow
def test_cli_prints_the_metrics_of_the_full_pipeline(cli_run: tuple[dict, Path]) -> None:
    out, _ = cli_run
    assert out["queries"] == 20 and out["documents"] == 131 and out["mode"] == "full"
    assert out["index_built"] is True
    for key in ("ndcg_at_10", "recall_at_100", "mrr_at_10"):
        assert 0.0 <= out[key] <= 1.0
    assert out["ndcg_at_10"] > 0.6  # measured 0.85: hard negatives, but most claims find their abstract
    assert out["ms_per_query"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["full", "lexical"])
def test_metrics_agree_with_ir_measures_on_the_same_run(cli_run: tuple[dict, Path], real_embedder, mode: str) -> None:
    import ir_measures
    from ir_measures import RR, R, nDCG

    out, cache = cli_run
    ds = load_dataset(SLICE)
    index, built = cached_index(ds, real_embedder, cache)
    assert not built  # the second open of the same corpus reuses the cached vectors
    run = run_queries(ds, index, real_embedder, RetrievalConfig(mode=mode)).run
    ours = evaluate(run, ds.qrels)
    theirs = ir_measures.calc_aggregate([nDCG @ 10, R @ 100, RR @ 10], ds.qrels, run)
    assert ours["ndcg_at_10"] == pytest.approx(theirs[nDCG @ 10], abs=1e-9)
    assert ours["recall_at_100"] == pytest.approx(theirs[R @ 100], abs=1e-9)
    assert ours["mrr_at_10"] == pytest.approx(theirs[RR @ 10], abs=1e-9)
    assert 0.0 < ours["ndcg_at_10"] < 1.0  # a run where the comparison means something
    if mode == "full":  # the CLI reported the metrics of this same run
        assert out["ndcg_at_10"] == pytest.approx(ours["ndcg_at_10"], abs=1e-4)
        assert out["mrr_at_10"] == pytest.approx(ours["mrr_at_10"], abs=1e-4)


def test_cache_is_keyed_by_the_corpus_bytes(tmp_path: Path, fake_embedder) -> None:
    data = tmp_path / "ds"
    shutil.copytree(SLICE, data)
    ds = load_dataset(data)
    _, built = cached_index(ds, fake_embedder, tmp_path / "cache")
    assert built
    _, built = cached_index(load_dataset(data), fake_embedder, tmp_path / "cache")
    assert not built
    import gzip

    lines = gzip.open(data / "corpus.jsonl.gz", "rt", encoding="utf-8").read().splitlines()
    with gzip.open(data / "corpus.jsonl.gz", "wt", encoding="utf-8") as fh:
        fh.write("\n".join(lines[:-1]) + "\n")
    changed = load_dataset(data)
    assert len(changed.documents) == len(ds.documents) - 1
    index, built = cached_index(changed, fake_embedder, tmp_path / "cache")
    assert built and index.counts()["documents"] == len(ds.documents) - 1


def test_queries_map_chunk_hits_to_documents_once(tmp_path: Path, fake_embedder) -> None:
    ds = load_dataset(SLICE)
    index, _ = cached_index(ds, fake_embedder, tmp_path / "cache")
    run = run_queries(ds, index, fake_embedder, RetrievalConfig(mode="hybrid"), depth=50).run
    assert list(run) == list(ds.queries)
    for docs in run.values():
        assert 0 < len(docs) <= 50
        assert set(docs) <= set(index.inventory())
        assert sorted(docs.values(), reverse=True) == list(docs.values())  # best first, no ties


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda d: None, "BEIR folder not found"),
        (lambda d: d.mkdir(), "no corpus.jsonl"),
        (lambda d: (d.mkdir(), (d / "corpus.jsonl").write_text('{"_id": "1", "text": "x"}\n')), "queries.jsonl"),
        (
            lambda d: (
                d.mkdir(),
                (d / "qrels").mkdir(),
                (d / "corpus.jsonl").write_text("not json\n"),
                (d / "queries.jsonl").write_text('{"_id": "q", "text": "x"}\n'),
                (d / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq\t1\t1\n"),
            ),
            "not JSON",
        ),
    ],
)
def test_bad_datasets_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], setup, message: str
) -> None:
    folder = tmp_path / "ds"
    setup(folder)
    assert main(["eval", "--beir", str(folder), "--cache", str(tmp_path / "cache")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("qa: error:") and message in err and "\n" not in err
