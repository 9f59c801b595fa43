"""The `qa` command: index | ask | eval | serve. Heavy imports live inside the commands, so `qa --help`
answers at once; every CiteqaError ends as one line on stderr and exit status 1."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from typing import Any

from cli.progress import ProgressBar as _ProgressBar


def _settings(args: argparse.Namespace) -> Any:
    from index.settings import Settings

    settings = Settings.from_env(
        corpus=getattr(args, "corpus", None),
        index=getattr(args, "index", None),
        embedder=getattr(args, "embedder", None),
        store=getattr(args, "store", None),
    )
    if settings.index.exists() and not settings.index.is_dir():
        from index.errors import CiteqaError

        raise CiteqaError(
            f"the index path {settings.index} is a file, not a folder: pass a folder to --index "
            "(or CITEQA_INDEX); it is created if missing"
        )
    return settings


def _no_documents(corpus: Any) -> str:
    """Why an index came out empty, e.g. 'corpus/ has no .txt, .md, ... files (it holds 2 others: a.docx, b.png)'."""
    from index.extract import SUFFIXES

    others = sorted(
        p.name
        for p in corpus.rglob("*")
        if p.is_file() and p.suffix.lower() not in SUFFIXES and not p.name.startswith(".") and p.name != "metadata.json"
    )
    held = (
        f"it holds {len(others)} other file(s): {', '.join(others[:5])}{', ...' if len(others) > 5 else ''}"
        if others
        else "it is empty"
    )
    return f"no documents to index: {corpus} has no {', '.join(SUFFIXES)} files ({held}); add some and run `qa index`"


def cmd_index(args: argparse.Namespace) -> int:
    import time

    from index.embed import load_embedder
    from index.errors import CiteqaError

    settings = _settings(args)
    if not settings.corpus.is_dir():
        from index.errors import CorpusNotFound

        raise CorpusNotFound(f"corpus folder not found: {settings.corpus} (set --corpus or CITEQA_CORPUS)")
    t0 = time.perf_counter()
    embedder = load_embedder(settings.embedder)
    store = None
    where = str(settings.index)
    if settings.store.kind != "faiss":
        from qa.milvus_engine import open_milvus_store

        store = open_milvus_store(settings, embedder, create=True)
        where = f"Milvus {store.spec.redacted()}"
    from qa.engine import sync

    bar = _ProgressBar("doc", args.quiet)
    report = sync(settings, embedder, bar, force=args.force, store=store)
    bar.close()
    _warn(report.warnings)
    if not report.documents:
        raise CiteqaError(_no_documents(settings.corpus))
    removed = f", {len(report.removed)} removed" if report.removed else ""
    print(
        f"indexed {report.documents} documents, {report.chunks} passages "
        f"({len(report.embedded)} documents embedded, {report.unchanged} unchanged{removed}) "
        f"into {where} in {time.perf_counter() - t0:.1f}s"
    )
    _summary(report.warnings)
    return 0


def _warn(warnings: list[str]) -> None:
    for w in warnings:
        print(f"qa: warning: {w}", file=sys.stderr)


def _bold_span(answer: dict[str, Any], tty: bool) -> str:
    """The answer sentence with its answer phrase in bold (ANSI on a terminal, **...** otherwise)."""
    text, span = answer["text"], answer.get("span")
    if span:
        a, b = span["start"] - answer["start"], span["end"] - answer["start"]
        on, off = ("\033[1m", "\033[0m") if tty else ("**", "**")
        text = f"{text[:a]}{on}{text[a:b]}{off}{text[b:]}"
    return " ".join(text.split())


def _summary(warnings: list[str]) -> None:
    """The closing list of files not indexed and parts left out, so nothing is skipped silently."""
    skipped = [w.removeprefix("skipped ") for w in warnings if w.startswith("skipped ")]
    notes = [w for w in warnings if not w.startswith("skipped ") and not w.startswith("previous index")]
    if skipped:
        print(f"skipped {len(skipped)} file{'s' if len(skipped) != 1 else ''} (not indexed):")
        for line in skipped:
            print(f"  {line}")
    if notes:
        print(f"left out of indexed files ({len(notes)}):")
        for line in notes:
            print(f"  {line}")


def _where(item: dict[str, Any]) -> str:
    """ "p. 3, " / "slide 2, " / "" for the citation line."""
    return f"{item['location']}, " if item.get("location") else ""


def _print_answer(result: dict[str, Any], width: int = 100) -> None:
    a = result["answer"]
    spelling = result.get("spelling")
    if spelling:
        print(f"searched for: {spelling['searched_for']}\n")
    if result["context"]["used"]:
        print(f"(read as: {result['context']['query']})\n")
    if a is None:
        print("The documents don't answer this question. The closest passages:\n")
    else:
        cite = next((p["rank"] for p in result["passages"] if p["highlight"]), None)
        marker = f" [{cite}]" if cite else ""
        print(f"Answer: {_bold_span(a, sys.stdout.isatty())}{marker}")
        ocr = ", OCR" if a.get("ocr") else ""
        print(f"        — {a['title']} ({a['doc_id']}, {_where(a)}characters {a['start']}–{a['end']}{ocr})")
        print(f"        confidence {result['confidence']:.2f} ({result.get('confidence_label', '')})\n")
    for p in result["passages"]:
        print(
            f"[{p['rank']}] {p['title']} ({p['doc_id']}, {_where(p)}characters {p['start']}–{p['end']}, score {p['score']:.3f})"
        )
        body = " ".join(p["text"].split())
        print(textwrap.indent(textwrap.fill(body, width - 4), "    "))
        print()


def _list_documents(docs: list[dict[str, Any]], as_json: bool) -> int:
    if as_json:
        print(json.dumps(docs, ensure_ascii=False, indent=2))
        return 0
    width = max((len(d["doc_id"]) for d in docs), default=0)
    for d in docs:
        print(f"{d['doc_id']:<{width}}  {d['title']}")
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from index.errors import BadQuestion, CiteqaError
    from qa.answer import validate
    from qa.engine import open_engine

    question = " ".join(args.question)
    if not args.list:
        if not args.question:
            raise BadQuestion('no question given: qa ask "your question" (or `qa ask --list` for the document ids)')
        validate(question, args.top_k)  # fail fast, before loading the model
    settings = _settings(args)
    from index.rows import exists

    if settings.store.kind == "faiss" and not exists(settings.index):
        from index.errors import IndexMissing

        where = (
            f"the index at {settings.index} is in an older format"
            if (settings.index / "CURRENT").is_file()
            else f"no index at {settings.index}"
        )
        raise IndexMissing(f"{where}: run `qa index` first")
    engine = open_engine(settings)
    if not engine.health()["documents"]:
        raise CiteqaError(
            f"the index at {settings.index} has no documents: add files to {settings.corpus} and run `qa index`"
        )
    if args.list:
        return _list_documents(sorted(engine.list_documents(), key=lambda d: d["doc_id"]), args.json)
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


DEFAULT_GOLD = "tests/gold/questions.jsonl"  # questions about the default corpus only


def _gold_for(args: argparse.Namespace, settings: Any) -> Any:
    """The gold file to run: --gold, or the default set when the corpus is the default one."""
    from pathlib import Path

    from index.errors import CiteqaError

    if args.gold:
        return Path(args.gold)
    if settings.corpus.resolve() != Path("corpus").resolve():
        raise CiteqaError(
            f"the default gold questions are about the default corpus, not {settings.corpus}: "
            f"give your own with --gold FILE (JSON lines: id, question, doc_id, evidence)"
        )
    return Path(DEFAULT_GOLD)


def cmd_eval(args: argparse.Namespace) -> int:
    if args.beir:
        from cli.beir import run_beir_command

        return run_beir_command(args)
    from index.errors import CiteqaError
    from qa.engine import open_engine
    from qa.evaluate import eval_report, load_gold, typos_path

    settings = _settings(args)
    path = _gold_for(args, settings)
    try:
        gold = load_gold(path)
    except OSError as exc:
        raise CiteqaError(f"cannot read the gold set {path}: {exc.strerror}") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise CiteqaError(f"{path} is not a gold set (JSON lines with id, question, doc_id, evidence): {exc}") from exc
    engine = open_engine(settings, build_if_missing=True)
    known = {d["doc_id"] for d in engine.list_documents()}
    missing = sorted({q.doc_id for q in gold if q.doc_id and q.doc_id not in known})
    if missing:
        raise CiteqaError(f"{path} asks about documents that are not in {settings.corpus}: {', '.join(missing[:5])}")
    if args.mode:
        import dataclasses

        engine.retrieval = dataclasses.replace(engine.retrieval, mode=args.mode)
    typos = typos_path(path)
    report, results = eval_report(engine, gold, load_gold(typos) if typos else None)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    if args.verbose:
        for r in results:
            status = "abstained" if not r.answered else ("hit" if r.answer_hit else "miss")
            span = f" span={r.span_text!r}" if r.span_text else ""
            print(
                f"{r.q.id:4} {r.q.split:4} rank={r.rank or '-':>2} answer={status:9} conf={r.confidence:.3f}{span}  {r.q.question}"
            )
            if r.answer_text:
                print(f"      -> {' '.join(r.answer_text.split())[:140]}")
        print()
    _print_report(str(path), report)
    return 0


def _print_report(path: str, report: dict[str, Any]) -> None:
    s = report
    print(
        f"gold set {path}: {s['answerable']} answerable, {s['followups']} follow-ups, {s['unanswerable']} unanswerable "
        f"(dev: odd ids, test: even ids)"
    )
    halves = [("dev", s["dev"]), ("test", s["test"]), ("all", s)]
    print(f"{'':28}" + "".join(f"{h:>8}" for h, _ in halves))
    rows = [
        ("Recall@1", "recall_at_1"),
        ("Recall@5", "recall_at_5"),
        ("MRR@10", "mrr_at_10"),
        ("nDCG@10", "ndcg_at_10"),
        ("answer hit rate", "answer_hit_rate"),
        ("span exact match (typed)", "span_exact_match"),
        ("unanswerable abstained", "unanswerable_abstained"),
        ("answerable answered", "answerable_answered"),
        ("abstention accuracy", "abstention_accuracy"),
    ]
    for label, key in rows:
        na = key == "span_exact_match" and not s["typed"]  # no typed question lists its phrase
        print(f"{label:28}" + "".join(f"{'–':>8}" if na else f"{h[key]:8.3f}" for _, h in halves))
    if s["followup"]:
        print(
            f"{'follow-ups Recall@5':28}" + "".join(f"{h['followup'].get('recall_at_5', 0.0):8.3f}" for _, h in halves)
        )
    if s.get("typos"):
        print(f"{'misspelled Recall@5':28}" + "".join(f"{s['typos'][h]['recall_at_5']:8.3f}" for h, _ in halves))
        print(f"{'misspelled answer hit':28}" + "".join(f"{s['typos'][h]['answer_hit_rate']:8.3f}" for h, _ in halves))


def cmd_serve(args: argparse.Namespace) -> int:
    from api.server import serve

    return serve(_settings(args), host=args.host, port=args.port, log_level=args.log_level, create_key=args.create_key)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qa", description="Ask questions of a folder of documents; get cited answers.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--corpus", help="corpus folder (default: $CITEQA_CORPUS or ./corpus)")
        sp.add_argument("--index", help="index folder (default: $CITEQA_INDEX or ./.citeqa)")
        sp.add_argument("--embedder", help="embedding backend (default: $CITEQA_EMBEDDER or the fastest available)")
        sp.add_argument(
            "--store",
            help="faiss (default), milvus:///path/file.db (milvus-lite), milvus://host:19530 "
            "or https://host:port (token: $CITEQA_MILVUS_TOKEN); default $CITEQA_STORE",
        )

    sp = sub.add_parser("index", help="(re)build the index from the corpus; only changed documents are embedded")
    common(sp)
    sp.add_argument("--force", action="store_true", help="re-embed every document")
    sp.add_argument("--quiet", action="store_true", help="no progress bar")
    sp.set_defaults(func=cmd_index)

    sp = sub.add_parser("ask", help="answer a question with cited passages")
    common(sp)
    sp.add_argument("question", nargs="*", help="the question")
    sp.add_argument("--list", action="store_true", help="list the indexed documents (id and title) and exit")
    sp.add_argument("--json", action="store_true", help="print the answer JSON (with --list: the documents)")
    sp.add_argument("-k", "--top-k", type=int, default=5, help="passages to return (1-50, default 5)")
    sp.add_argument("--doc", action="append", help="only search this document id (repeatable)")
    sp.add_argument(
        "--history", action="append", help="an earlier question of the conversation (repeatable, oldest first)"
    )
    sp.set_defaults(func=cmd_ask)

    sp = sub.add_parser("eval", help="retrieval and answer metrics on the gold set, or on a BEIR dataset")
    common(sp)
    sp.add_argument(
        "--gold",
        help="gold questions (JSON lines) about the --corpus documents (default: the project's "
        "questions, for the default corpus only); a typos.jsonl beside it is evaluated too",
    )
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
    sp.add_argument(
        "--create-key",
        action="store_true",
        help="without CITEQA_API_KEY: enable writes with a key kept "
        "in the index folder, made and printed on the first start (what `make run` does)",
    )
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
    except OSError as exc:  # a path that is a file, unreadable, full disk...: one line, not a traceback
        where = f": {exc.filename}" if exc.filename else ""
        print(f"qa: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
