"""The `qa` command: index | ask | eval | serve. Heavy imports live inside the commands, so `qa --help`
answers at once; every CiteqaError ends as one line on stderr and exit status 1."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from typing import Any


def _settings(args: argparse.Namespace) -> Any:
    from qa.engine import Settings

    return Settings.from_env(corpus=getattr(args, "corpus", None), index=getattr(args, "index", None),
                             embedder=getattr(args, "embedder", None), store=getattr(args, "store", None))


class _ProgressBar:
    """`progress(done, total)` callback drawing a tqdm bar on stderr, opened on the first call."""

    def __init__(self, unit: str, quiet: bool) -> None:
        self.unit, self.quiet = unit, quiet
        self.bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=total, unit=self.unit, desc="indexing", disable=self.quiet or None, file=sys.stderr)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def cmd_index(args: argparse.Namespace) -> int:
    import time

    from index.embed import load_embedder

    settings = _settings(args)
    if not settings.corpus.is_dir():
        from index.errors import CorpusNotFound

        raise CorpusNotFound(f"corpus folder not found: {settings.corpus} (set --corpus or CITEQA_CORPUS)")
    t0 = time.perf_counter()
    embedder = load_embedder(settings.embedder)
    if settings.store != "faiss":
        from index.milvus_store import parse_store
        from qa.milvus_engine import sync as milvus_sync

        spec = parse_store(settings.store)
        bar = _ProgressBar("doc", args.quiet)
        counts, embedded, warnings = milvus_sync(settings, embedder, spec, bar, force=args.force)
        bar.close()
        _warn(warnings)
        print(f"indexed {counts['documents']} documents, {counts['chunks']} passages "
              f"({len(embedded)} documents embedded) into Milvus {spec.redacted()} in {time.perf_counter() - t0:.1f}s")
        return 0
    from qa.engine import sync

    bar = _ProgressBar("doc", args.quiet)
    report = sync(settings, embedder, bar, force=args.force)
    bar.close()
    _warn(report.warnings)
    removed = f", {len(report.removed)} removed" if report.removed else ""
    print(
        f"indexed {report.documents} documents, {report.chunks} passages "
        f"({len(report.embedded)} documents embedded, {report.unchanged} unchanged{removed}) "
        f"into {settings.index} in {time.perf_counter() - t0:.1f}s"
    )
    return 0


def _warn(warnings: list[str]) -> None:
    for w in warnings:
        print(f"qa: warning: {w}", file=sys.stderr)


def _print_answer(result: dict[str, Any], width: int = 100) -> None:
    a = result["answer"]
    if result["context"]["used"]:
        print(f"(read as: {result['context']['query']})\n")
    if a is None:
        print("The documents don't answer this question. The closest passages:\n")
    else:
        cite = next((p["rank"] for p in result["passages"] if p["highlight"]), None)
        marker = f" [{cite}]" if cite else ""
        print(f"Answer: {' '.join(a['text'].split())}{marker}")
        print(f"        — {a['title']} ({a['doc_id']}, characters {a['start']}–{a['end']})\n")
    for p in result["passages"]:
        print(f"[{p['rank']}] {p['title']} ({p['doc_id']}, characters {p['start']}–{p['end']}, score {p['score']:.3f})")
        body = " ".join(p["text"].split())
        print(textwrap.indent(textwrap.fill(body, width - 4), "    "))
        print()


def cmd_ask(args: argparse.Namespace) -> int:
    from index.errors import BadQuestion
    from qa.answer import validate
    from qa.engine import open_engine

    question = " ".join(args.question)
    validate(question, args.top_k)  # fail fast, before loading the model
    settings = _settings(args)
    from index.rows import exists

    if settings.store == "faiss" and not exists(settings.index):
        from index.errors import IndexMissing

        where = f"the index at {settings.index} is in an older format" if (settings.index / "CURRENT").is_file() \
            else f"no index at {settings.index}"
        raise IndexMissing(f"{where}: run `qa index` first")
    engine = open_engine(settings)
    if args.doc:
        from index.errors import DocumentNotFound

        def known(doc_id: str) -> bool:
            try:
                engine.document(doc_id)
                return True
            except DocumentNotFound:
                return False

        unknown = [d for d in args.doc if not known(d)]
        if unknown:
            raise BadQuestion(f"unknown document id(s): {', '.join(unknown)} (see `qa ask --list`)")
    result = engine.ask(question, top_k=args.top_k, doc_ids=args.doc or None, history=args.history or None).to_dict()
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        _print_answer(result)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    if args.beir:
        from qa.beir_cli import run_beir_command

        return run_beir_command(args)
    from index.errors import CiteqaError
    from qa.engine import open_engine
    from qa.evaluate import load_gold, run_gold, summarize

    try:
        gold = load_gold(args.gold)
    except OSError as exc:
        raise CiteqaError(f"cannot read the gold set {args.gold}: {exc.strerror}") from exc
    settings = _settings(args)
    engine = open_engine(settings, build_if_missing=True)
    if args.mode:
        import dataclasses

        engine.retrieval = dataclasses.replace(engine.retrieval, mode=args.mode)
    results = run_gold(engine, gold)
    summary = summarize(results)
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    if args.verbose:
        for r in results:
            status = "abstained" if not r.answered else ("hit" if r.answer_hit else "miss")
            print(f"{r.q.id:4} rank={r.rank or '-':>2} answer={status:9} conf={r.confidence:.3f}  {r.q.question}")
            if r.answer_text:
                print(f"      -> {' '.join(r.answer_text.split())[:140]}")
        print()
    s = summary
    print(f"gold set: {s['answerable']} answerable, {s['followups']} follow-ups, {s['unanswerable']} unanswerable")
    print(f"Recall@1            {s['recall_at_1']:.3f}")
    print(f"Recall@5            {s['recall_at_5']:.3f}")
    print(f"MRR@10              {s['mrr_at_10']:.3f}")
    print(f"nDCG@10             {s['ndcg_at_10']:.3f}")
    print(f"answer hit rate     {s['answer_hit_rate']:.3f}")
    print(f"abstention accuracy {s['abstention_accuracy']:.3f}  (unanswerable abstained {s['unanswerable_abstained']:.3f},"
          f" answerable answered {s['answerable_answered']:.3f})")
    if s["followup"]:
        f = s["followup"]
        print(
            f"follow-ups          Recall@1 {f['recall_at_1']:.3f}  Recall@5 {f['recall_at_5']:.3f}"
            f"  answer hit {f['answer_hit_rate']:.3f}"
        )
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from api.server import serve

    return serve(_settings(args), host=args.host, port=args.port, log_level=args.log_level)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qa", description="Ask questions of a folder of documents; get cited answers.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--corpus", help="corpus folder (default: $CITEQA_CORPUS or ./corpus)")
        sp.add_argument("--index", help="index folder (default: $CITEQA_INDEX or ./.citeqa)")
        sp.add_argument("--embedder", help="embedding backend (default: $CITEQA_EMBEDDER or the fastest available)")
        sp.add_argument("--store", help="faiss (default), milvus:///path/file.db (milvus-lite), milvus://host:19530 "
                        "or https://host:port (token: $CITEQA_MILVUS_TOKEN); default $CITEQA_STORE")

    sp = sub.add_parser("index", help="(re)build the index from the corpus; only changed documents are embedded")
    common(sp)
    sp.add_argument("--force", action="store_true", help="re-embed every document")
    sp.add_argument("--quiet", action="store_true", help="no progress bar")
    sp.set_defaults(func=cmd_index)

    sp = sub.add_parser("ask", help="answer a question with cited passages")
    common(sp)
    sp.add_argument("question", nargs="+", help="the question")
    sp.add_argument("--json", action="store_true", help="print the answer JSON")
    sp.add_argument("-k", "--top-k", type=int, default=5, help="passages to return (1-50, default 5)")
    sp.add_argument("--doc", action="append", help="only search this document id (repeatable)")
    sp.add_argument("--history", action="append", help="an earlier question of the conversation (repeatable, oldest first)")
    sp.set_defaults(func=cmd_ask)

    sp = sub.add_parser("eval", help="retrieval and answer metrics on the gold set, or on a BEIR dataset")
    common(sp)
    sp.add_argument("--gold", default="tests/gold/questions.jsonl", help="gold questions (JSON lines)")
    sp.add_argument("--beir", metavar="DIR", help="evaluate a dataset in BEIR layout instead")
    sp.add_argument("--mode", choices=["dense", "lexical", "hybrid", "full"], help="retrieval pipeline (ablation)")
    sp.add_argument("--json", action="store_true", help="print the metrics as JSON")
    sp.add_argument("--verbose", action="store_true", help="one line per question")
    sp.add_argument("--limit", type=int, help="BEIR: evaluate only the first N queries")
    sp.add_argument("--cache", help="BEIR: cache folder for indexed datasets (default: ~/.cache/citeqa/beir)")
    sp.set_defaults(func=cmd_eval)

    sp = sub.add_parser("serve", help="run the HTTP API and chat page")
    common(sp)
    sp.add_argument("--host", default="127.0.0.1")
    sp.add_argument("--port", type=int, default=8000)
    sp.add_argument("--log-level", default="info")
    sp.set_defaults(func=cmd_serve)
    return p


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if not getattr(args, "func", None):
        p.print_help()
        return 2
    from index.errors import CiteqaError

    try:
        return int(args.func(args) or 0)
    except CiteqaError as exc:
        print(f"qa: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("qa: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
