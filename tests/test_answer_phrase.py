"""The answer step's rules, without the model: question types, answer phrases, sentence choice, spelling,
term normalisation, calibrated confidence. Fast; the real-model quality floors live in test_gold_quality.py."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from index.lexical import terms
from index.sentences import split
from index.store import SentenceRecord
from qa import confidence
from qa.choose import choose
from qa.qtype import question_type
from qa.span import best_phrase
from qa.spelling import correct, distance
from tests.conftest import FakeEmbedder

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("When will the Old Mill Bridge reopen?", "date"),
        ("By what year should every home have fast internet?", "date"),
        ("How much will the hub cost?", "quantity"),
        ("What share of the work does the state pay for?", "quantity"),
        ("Who succeeded Dana Okafor?", "name"),
        ("Which company is rebuilding the bridge?", "name"),
        ("Where is the station database stored?", "place"),
        ("Which Python version does tidewater require?", "version"),
        ("What is the population of Northfield?", "quantity"),
        ("Why did the repair take so long?", None),
        ("What did the governor's grandmother tell her?", None),
    ],
)
def test_questions_are_typed_by_what_would_answer_them(question: str, kind: str | None) -> None:
    assert question_type(question).kind == kind


@pytest.mark.parametrize(
    ("question", "sentence", "phrase"),
    [
        ("How much will the hub cost?", "The project is expected to cost $62 million.", "$62 million"),
        ("By how much will rates rise?", "Water rates will rise by 4.5% on July 1, 2025.", "4.5%"),
        ("When do the new rates take effect?", "Water rates will rise by 4.5% on July 1, 2025.", "July 1, 2025"),
        (
            "When will the bridge reopen?",
            "TOMAS WELLER: The bridge will reopen on Monday, 13 October.",
            "Monday, 13 October",
        ),
        (
            "Who designed the building?",
            "The building was designed by Okoro & Lind Architects, a firm based in Riverton.",
            "Okoro & Lind Architects",
        ),
        (
            "Which company does the work?",
            "The contractor is Brandvold Construction, a firm from Millbrook.",
            "Brandvold Construction",
        ),
        ("What number do I call in an emergency?", "For an emergency, call the 24-hour line at 555-0142.", "555-0142"),
        ("How many students graduated?", "Today, 1,312 of you are crossing this stage.", "1,312"),
        ("How often does the ferry cross the lake?", "The ferry crosses the lake twice a day.", "twice a day"),
        ("Which NumPy version is needed?", "- NumPy 1.24 or newer.", "NumPy 1.24 or newer"),
        (
            "Where are the settings read from?",
            "Settings are read from `~/.config/tw/config.toml`.",
            "`~/.config/tw/config.toml`",
        ),
    ],
)
def test_the_answer_phrase_is_the_typed_phrase_in_the_sentence(question: str, sentence: str, phrase: str) -> None:
    found = best_phrase(sentence, question_type(question), set(terms(question, question=True)))
    assert found is not None and sentence[found[0] : found[1]] == phrase


def test_a_table_cell_is_chosen_by_the_column_the_question_names() -> None:
    header = "| Version | Released | Python | Supported until |"
    row = "| 3.0 | 2024-01-20 | 3.9+ | 2025-06-30 |"
    q = "Until when is version 3.0 supported?"
    found = best_phrase(row, question_type(q), set(terms(q, question=True)), header)
    assert found is not None and row[found[0] : found[1]] == "2025-06-30"
    q = "When was version 3.0 released?"
    found = best_phrase(row, question_type(q), set(terms(q, question=True)), header)
    assert found is not None and row[found[0] : found[1]] == "2024-01-20"


def test_no_phrase_of_the_asked_kind_means_none() -> None:
    q = "How much does the Clear Tap program cost the city?"
    assert best_phrase("It's called Clear Tap.", question_type(q), set(terms(q, question=True))) is None


@pytest.mark.parametrize(
    ("question", "sentence", "phrase"),
    [
        ("How many parking spaces will the hub have?", "The hub will have 14 bus bays and 300 bicycle spaces.", None),
        ("How many bicycle spaces will the hub have?", "The hub will have 14 bus bays and 300 bicycle spaces.", "300"),
        ("How many workers are on the bridge crew?", "The crews found corrosion in 12 of the steel girders.", None),
        ("How many girders were corroded?", "The crews found corrosion in 12 of the steel girders.", "12"),
        ("How many lead service lines are left?", "We found roughly 2,300 lead service lines.", "roughly 2,300"),
        ("How many seats does the council have?", "The council voted 7-2 on Wednesday night.", None),  # a tally
        ("How many councillors voted for it?", "Seven councillors voted for it, 7-2, on Wednesday.", "Seven"),
    ],
)
def test_a_count_answers_only_the_thing_asked_for(question: str, sentence: str, phrase: str | None) -> None:
    found = best_phrase(sentence, question_type(question), set(terms(question, question=True)))
    assert (None if found is None else sentence[found[0] : found[1]]) == phrase


def _records(text: str, embedder: FakeEmbedder) -> list[tuple[int, SentenceRecord]]:
    sents = split(text)
    vecs = embedder.embed_batch([text[s.start : s.end] for s in sents])
    return [
        (0, SentenceRecord("doc", i, s.start, s.end, text[s.start : s.end], s.heading, vecs[i]))
        for i, s in enumerate(sents)
    ]


def _idf(ts: object) -> dict[str, float]:
    return {t: 1.0 for t in ts}  # type: ignore[attr-defined]


def _quote(text: str, q: str) -> tuple[str, str | None]:
    """(the chosen sentence(s), the answer phrase) for question q over text, with the fake embedder."""
    emb = FakeEmbedder()
    c = choose(q, emb.embed_one(q), _records(text, emb), _idf)
    assert c is not None
    return text[c.start : c.end], None if c.span is None else text[c.span[0] : c.span[1]]


TRANSCRIPT = """PRIYA RAMAN: Let's start with the question everybody is asking. When will the Old Mill Bridge reopen?

TOMAS WELLER: The bridge will reopen to cars and cyclists on Monday, 13 October. The deck is poured.

PRIYA RAMAN: Before you go, you mentioned that your deputy is leaving.

TOMAS WELLER: Yes. Dana Okafor, who ran our engineering division for fourteen years, retired at the end of August. \
She was succeeded by Luis Prieto, who came to us from the county highway department.
"""


def test_a_question_in_the_text_is_never_the_answer() -> None:
    chosen, span = _quote(TRANSCRIPT, "When will the Old Mill Bridge reopen?")
    assert not chosen.rstrip().endswith("?")
    assert "Monday, 13 October" in chosen
    assert span == "Monday, 13 October"


def test_a_pronoun_led_answer_is_quoted_with_its_antecedent() -> None:
    chosen, span = _quote(TRANSCRIPT, "Who succeeded Dana Okafor?")
    assert chosen.startswith("Dana Okafor, who ran") and chosen.endswith("county highway department.")
    assert span == "Luis Prieto"


REPORT = (
    "Most of our water comes from the Kettle River, which is treated at the Cedar Hollow Treatment Plant. "
    "The plant was built in 1987 and was expanded in 2012. The rest comes from four wells.\n"
)


def test_a_sentence_led_by_a_noun_the_sentence_before_names_is_quoted_with_it() -> None:
    chosen, span = _quote(REPORT, "When was the Cedar Hollow Treatment Plant built?")
    assert chosen.startswith("Most of our water") and chosen.endswith("expanded in 2012.")
    assert span == "1987"


VERSIONS = "| Version | Released |\n|---|---|\n| 3.2 | 2025-04-02 |\n| 3.1 | 2024-09-15 |\n"


def test_a_number_the_question_names_but_the_passage_lacks_lowers_the_confidence() -> None:
    emb = FakeEmbedder()
    features = {}
    for q in ("When was version 3.1 released?", "When will version 4.0 be released?"):
        c = choose(q, emb.embed_one(q), _records(VERSIONS, emb), _idf)
        assert c is not None
        features[q] = c.features
    named, missing = features.values()
    assert named["number_missing"] == 0.0 and missing["number_missing"] == 1.0
    assert confidence.probability({**named, "number_missing": 1.0}) < confidence.probability(named)


def test_list_items_and_table_rows_are_candidates_not_headings() -> None:
    text = "## Requirements\n\n- Python 3.10 or newer.\n- NumPy 1.24 or newer.\n\n| Version | Released |\n|---|---|\n| 3.2 | 2025-04-02 |\n"
    sents = {text[s.start : s.end]: s.heading for s in split(text)}
    assert sents["## Requirements"] is True
    assert sents["- NumPy 1.24 or newer."] is False
    assert sents["| 3.2 | 2025-04-02 |"] is False
    bare = "## Requirements\n\n- Python 3.10 or newer\n- NumPy 1.24 or newer\n1. Install it\n"
    flags = {bare[s.start : s.end]: s.heading for s in split(bare)}
    assert flags["## Requirements"] is True
    assert flags["- Python 3.10 or newer"] is False and flags["1. Install it"] is False


def test_a_path_is_not_split_at_its_dot() -> None:
    text = "The database is stored in `~/.local/share/tidewater/stations.db`. It is small."
    assert [text[s.start : s.end] for s in split(text)][
        0
    ] == "The database is stored in `~/.local/share/tidewater/stations.db`."


def test_terms_meet_across_spellings() -> None:
    assert set(terms("What does the US import?")) & set(terms("U.S. imports from Guatemala")) >= {"usa", "import"}
    assert "email" in terms("send an e-mail") and "email" in terms("email us")
    assert terms("flights") == terms("flight")
    assert "us" in terms("tell us more")  # the pronoun stays apart from the country
    assert "3.10" in terms("Python 3.10 or newer")


def test_misspelled_words_are_corrected_against_the_corpus_vocabulary() -> None:
    vocab = {"safe": 3, "third": 4, "country": 5, "agreement": 6, "guatemala": 9, "ports": 2, "goals": 1}
    fixed = correct("Wat is the Safe Thrid Contry Agrement?", vocab)
    assert fixed is not None
    assert fixed.searched_for == "what is the Safe third country agreement?"
    assert [w for w, _ in fixed.corrections] == ["Wat", "Thrid", "Contry", "Agrement"]
    # Correct English words and other forms of corpus words are left alone.
    assert correct("Which free trade pact binds Washington and Guatemala to its goal and port?", vocab) is None
    assert distance("thrid", "third") == 1 and distance("contry", "country") == 1


def test_confidence_is_a_probability_with_words() -> None:
    for feats in ({}, {"cos": 5.0, "coverage": 5.0, "margin": 5.0}, {"cos": -5.0, "typed": 1.0}):
        p = confidence.probability(feats)
        assert 0.0 <= p <= 1.0 and not math.isnan(p)
    strong = {"cos": 0.8, "coverage": 1.0, "margin": 0.8, "passage_coverage": 1.0, "typed": 1.0, "type_found": 1.0}
    strong["top_passage"] = 1.0
    weak = {"cos": 0.3, "coverage": 0.1, "margin": 0.0, "passage_coverage": 0.2, "typed": 1.0, "type_found": 0.0}
    assert confidence.probability(strong) > confidence.threshold() > confidence.probability(weak)
    assert confidence.label(confidence.probability(strong)) == "likely"
    assert confidence.label(confidence.probability(weak)) == "unlikely"
    # the words follow the threshold: what citeqa shows is never called "unlikely", what it withholds always is
    cut = confidence.threshold()
    assert confidence.label(cut) == "uncertain" and confidence.label(cut - 1e-6) == "unlikely"
    assert confidence.label(0.5, cutoff=0.55) == "unlikely" and confidence.label(0.5, cutoff=0.1) == "uncertain"
    model = json.loads(confidence.MODEL_FILE.read_text())
    assert "typed_missing" in model["features"] and set(model["features"]) <= set(confidence.FEATURES)
    assert 0.0 < model["threshold"] < 1.0


def test_gold2_pdf_and_typos_are_what_their_scripts_make() -> None:
    import importlib.util

    def load(name: str):  # noqa: ANN202
        spec = importlib.util.spec_from_file_location(name, ROOT / "tests/gold2" / f"{name}.py")
        assert spec and spec.loader
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod

    pdf = load("make_pdf")
    assert pdf.TARGET.read_bytes() == pdf.build(pdf.SOURCE.read_text(encoding="utf-8"))
    typos = load("make_typos")
    for folder in typos.SETS:
        for line in (folder / "typos.jsonl").read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            assert r["question"] == typos.variant(r["id"], r["typo_of"]) != r["typo_of"]


def test_gold2_is_large_enough_and_every_evidence_is_in_its_document() -> None:
    from index.documents import read_corpus
    from qa.evaluate import evidence_span, load_gold

    docs = {d.doc_id: d for d in read_corpus(ROOT / "tests/gold2/corpus")[0]}
    assert {d.source.rsplit(".", 1)[1] for d in docs.values()} >= {"pdf", "html", "md", "txt"}
    gold = load_gold(ROOT / "tests/gold2/questions.jsonl")
    assert len(gold) >= 60 and sum(not q.answerable for q in gold) >= 20
    for q in gold:
        if q.answerable:
            assert q.doc_id is not None and q.evidence is not None
            assert evidence_span(docs[q.doc_id].text, q.evidence), q.id
    assert {q.split for q in gold} == {"dev", "test"}
    assert np.mean([q.split == "dev" for q in gold]) == pytest.approx(0.5, abs=0.05)


@pytest.mark.parametrize("folder", ["gold", "gold2"])
def test_the_extra_dev_questions_are_dev_only_and_never_share_evidence_with_a_test_question(folder: str) -> None:
    from index.documents import read_corpus
    from qa.evaluate import evidence_span, load_gold

    corpus = ROOT / ("corpus" if folder == "gold" else "tests/gold2/corpus")
    docs = {d.doc_id: d.text for d in read_corpus(corpus)[0]}
    gold = load_gold(ROOT / "tests" / folder / "questions.jsonl")
    extra = load_gold(ROOT / "tests" / folder / "dev_extra.jsonl")
    assert extra and {q.split for q in extra} == {"dev"} and not {q.id for q in extra} & {q.id for q in gold}
    assert any(q.answerable for q in extra) and any(not q.answerable for q in extra)
    test_spans = [
        (q.doc_id, evidence_span(docs[q.doc_id], q.evidence))
        for q in gold
        if q.split == "test" and q.doc_id is not None and q.evidence
    ]
    for q in extra:
        if q.answerable:
            assert q.doc_id is not None and q.evidence is not None
            span = evidence_span(docs[q.doc_id], q.evidence)
            assert span is not None, q.id
            assert not any(d == q.doc_id and t and min(span[1], t[1]) > max(span[0], t[0]) for d, t in test_spans), q.id
