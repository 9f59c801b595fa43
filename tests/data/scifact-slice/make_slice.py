"""Rebuild this slice from BEIR SciFact's test split (run from the repository root):
    .venv/bin/python tests/data/scifact-slice/make_slice.py ../shared/bench/scifact

Keeps the first 20 test queries (file order) that have judgements, their judged documents, and for each
query the 6 best BM25 documents of the whole corpus that are not judged relevant (hard negatives), so the
metrics on the slice are not trivially 1.0.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import numpy as np


def main(src: str) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
    from index.lexical import Lexical, tokenize

    root = Path(src)
    dest = Path(__file__).resolve().parent
    corpus = [json.loads(x) for x in gzip.open(root / "corpus.jsonl.gz", "rt", encoding="utf-8")]
    queries = {q["_id"]: q for q in map(json.loads, open(root / "queries.jsonl", encoding="utf-8"))}
    lines = (root / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()
    qrels: dict[str, dict[str, str]] = {}
    for line in lines[1:]:
        q, d, s = line.split("\t")
        qrels.setdefault(q, {})[d] = s
    chosen = [q for q in queries if q in qrels][:20]
    lex = Lexical(tokenize([f"{c['title']}\n{c['text']}" for c in corpus]))
    keep = {d for q in chosen for d in qrels[q]}
    for q in chosen:
        scores = lex.scores(queries[q]["text"])
        negatives = [corpus[i]["_id"] for i in np.argsort(-scores)[:30] if corpus[i]["_id"] not in qrels[q]]
        keep |= set(negatives[:6])
    rows = [c for c in corpus if c["_id"] in keep]
    with gzip.GzipFile(dest / "corpus.jsonl.gz", "wb", mtime=0) as fh:
        fh.write("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in rows).encode("utf-8"))
    (dest / "queries.jsonl").write_text("".join(json.dumps(queries[q]) + "\n" for q in chosen), encoding="utf-8")
    body = "".join(f"{q}\t{d}\t{s}\n" for q in chosen for d, s in qrels[q].items())
    (dest / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + body, encoding="utf-8")
    print(f"{len(chosen)} queries, {len(rows)} documents")


if __name__ == "__main__":
    main(sys.argv[1])
