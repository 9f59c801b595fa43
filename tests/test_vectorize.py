"""One model pass for passage and sentence vectors (index/vectorize.py): late chunking and sentence-first pooling."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np
import pytest

from index.build import passage_embed_text
from index.vectorize import DocParts, flat, flat_offsets, pool, vectorize
from tests.conftest import FakeEmbedder

_TOKEN = re.compile(r"\w+|[^\w\s]")


class FakeTokenEmbedder(FakeEmbedder):
    """Each token's state is a one-hot of its hash; a text's vector is the normalised mean of its tokens' states,
    so a late-pooled sentence must equal the same sentence embedded alone, whatever the passage around it."""

    def _states(self, text: str) -> tuple[np.ndarray, list[tuple[int, int]]]:
        spans = [(m.start(), m.end()) for m in _TOKEN.finditer(text)]
        states = np.zeros((len(spans) + 2, self.dim), np.float32)  # [CLS] ... [SEP], offsets (0, 0)
        for i, (a, b) in enumerate(spans, start=1):
            states[i, int(hashlib.md5(text[a:b].lower().encode()).hexdigest(), 16) % self.dim] = 1.0
        return states, [(0, 0), *spans, (0, 0)]

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, t in enumerate(texts):
            states, _ = self._states(t)
            mean = states[1:-1].mean(axis=0)
            out[i] = mean / np.linalg.norm(mean)
        return out

    def embed_tokens(self, texts: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]]:
        self.calls += 1
        self.texts_embedded += len(texts)
        out = []
        for t in texts:
            states, offsets = self._states(t)
            out.append((self.embed_batch([t])[0], states, offsets))
        return out


def test_flat_offsets_follow_collapsed_whitespace() -> None:
    passage = "Alpha  beta.\n  Gamma\tdelta.  Eps"
    spans = [(0, 12), (15, 27)]
    assert [passage[s:e] for s, e in spans] == ["Alpha  beta.", "Gamma\tdelta."]
    fl = flat(passage)
    assert [fl[s:e] for s, e in flat_offsets(passage, spans)] == ["Alpha beta.", "Gamma delta."]


def test_pool_means_the_overlapping_tokens_and_skips_truncated_spans() -> None:
    states = np.array([[9, 9], [1, 0], [0, 1], [5, 5]], np.float32)
    offsets = [(0, 0), (0, 3), (4, 7), (0, 0)]
    v = pool(states, offsets, (0, 7))
    assert v is not None and np.allclose(v, [2**-0.5, 2**-0.5])
    assert pool(states, offsets, (20, 30)) is None


def _doc(title: str, text: str, chunks: list[tuple[int, int]]) -> DocParts:
    sents = [(m.start(), m.end()) for m in re.finditer(r"[^.]+\.", text)]
    sents = [(s + len(text[s:e]) - len(text[s:e].lstrip()), e) for s, e in sents]
    owned = [(s, e, next(c for c, (cs, ce) in enumerate(chunks) if cs <= s and e <= ce)) for s, e in sents]
    return DocParts(title, text, chunks, owned)


@pytest.fixture
def late(monkeypatch: pytest.MonkeyPatch) -> None:
    import index.vectorize as vectorize_module

    monkeypatch.setattr(vectorize_module, "MODE", "late")


@pytest.mark.usefixtures("late")
def test_late_sentences_equal_their_own_embedding_with_title_prefix_and_wraps() -> None:
    text = "The council met in Lisbon.  Budgets were cut\nby a third. Nobody objected.\n\nA vote followed in May."
    split_at = text.index("A vote")
    doc = _doc("Council  minutes", text, [(0, split_at - 2), (split_at, len(text))])
    emb = FakeTokenEmbedder()
    chunks, sentences = vectorize(emb, [doc], passage_embed_text)
    assert chunks.shape == (2, emb.dim) and sentences.shape == (4, emb.dim)
    alone = emb.embed([flat(text[s:e]) for s, e, _ in doc.sentences])
    assert np.allclose(sentences, alone, atol=1e-6)
    assert np.allclose(chunks, emb.embed([passage_embed_text(doc.title, text[s:e]) for s, e in doc.chunks]), atol=1e-6)
    assert emb.texts_embedded == 2  # one run per passage, none per sentence


@pytest.mark.parametrize("mode", ["late", "sentences"])
def test_embedder_without_token_outputs_embeds_sentences_on_their_own(
    mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import index.vectorize as vectorize_module

    monkeypatch.setattr(vectorize_module, "MODE", mode)
    text = "Rain fell all week. The river rose."
    doc = _doc("Weather", text, [(0, len(text))])
    emb = FakeEmbedder()
    chunks, sentences = vectorize(emb, [doc], passage_embed_text)
    assert emb.texts_embedded == 3
    assert np.allclose(sentences, emb.embed(["Rain fell all week.", "The river rose."]))
    assert np.allclose(chunks[0], emb.embed(["Weather. Rain fell all week. The river rose."])[0])


def test_empty_input_gives_empty_arrays() -> None:
    chunks, sentences = vectorize(FakeTokenEmbedder(), [], passage_embed_text)
    assert chunks.shape == (0, 64) and sentences.shape == (0, 64)


@pytest.mark.slow
@pytest.mark.usefixtures("late")
def test_real_model_late_pooling(real_embedder) -> None:  # type: ignore[no-untyped-def]
    if not hasattr(real_embedder, "embed_tokens"):
        pytest.skip(f"{real_embedder.backend} has no token outputs")
    sentence = "Vitamin D supplements reduced the rate of hip fractures in elderly women."
    one = DocParts("", sentence, [(0, len(sentence))], [(0, len(sentence), 0)])
    chunks, sentences = vectorize(real_embedder, [one], passage_embed_text)
    assert float(chunks[0] @ sentences[0]) > 0.97  # a one-sentence passage: its sentence is (nearly) the passage
    assert np.allclose(chunks[0], real_embedder.embed([sentence])[0], atol=1e-5)  # the pooled output is unchanged
    titled = DocParts("Bone health", sentence, [(0, len(sentence))], [(0, len(sentence), 0)])
    _, with_title = vectorize(real_embedder, [titled], passage_embed_text)
    alone = real_embedder.embed([sentence])[0]
    assert float(with_title[0] @ alone) > 0.9  # the title's tokens are not pooled into the sentence
    assert abs(float(np.linalg.norm(with_title[0])) - 1) < 1e-5


def test_sentence_first_mode_pools_passages_from_sentence_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    import index.vectorize as vectorize_module

    monkeypatch.setattr(vectorize_module, "MODE", "sentences")
    text = "The council met in Lisbon. Budgets were cut by a third. Nobody objected."
    second = text.index("Budgets")
    doc = _doc("Council minutes", text, [(0, text.index(" Nobody")), (second, len(text))])  # overlap: one sentence
    emb = FakeTokenEmbedder()
    chunks, sentences = vectorize(emb, [doc], passage_embed_text)
    assert np.allclose(sentences, emb.embed([text[s:e] for s, e, _ in doc.sentences]), atol=1e-6)  # exact
    # one-hot token states: pooling the title and sentence runs is embedding "Title. passage" whole
    assert np.allclose(chunks, emb.embed([passage_embed_text(doc.title, text[s:e]) for s, e in doc.chunks]), atol=1e-6)
    assert emb.texts_embedded == 1 + 3  # the title once, each sentence once


class SpecialTokenEmbedder(FakeTokenEmbedder):
    """Like FakeTokenEmbedder, but [CLS] and [SEP] have states of their own and a text's vector means every state,
    specials included (as the real model's pooling does)."""

    def _states(self, text: str) -> tuple[np.ndarray, list[tuple[int, int]]]:
        states, offsets = super()._states(text)
        states[0, 1], states[-1, 2] = 1.0, 1.0
        return states, offsets

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, t in enumerate(texts):
            mean = self._states(t)[0].mean(axis=0)
            out[i] = mean / np.linalg.norm(mean)
        return out


def test_sentence_first_passages_hold_one_cls_and_one_sep(monkeypatch: pytest.MonkeyPatch) -> None:
    import index.vectorize as vectorize_module

    monkeypatch.setattr(vectorize_module, "MODE", "sentences")
    text = "The council met in Lisbon. Budgets were cut by a third. Nobody objected. A vote followed in May."
    doc = _doc("Council minutes", text, [(0, text.index(" A vote")), (text.index("Nobody"), len(text))])
    emb = SpecialTokenEmbedder()
    chunks, sentences = vectorize(emb, [doc], passage_embed_text)
    assert np.allclose(sentences, emb.embed([text[s:e] for s, e, _ in doc.sentences]), atol=1e-6)
    # context-free token states: the pooled passage is "Title. passage" embedded whole, one [CLS]/[SEP] pair, not
    # one per sentence run
    whole = emb.embed([passage_embed_text(doc.title, text[s:e]) for s, e in doc.chunks])
    assert np.allclose(chunks, whole, atol=1e-6)
    untitled = _doc("", text, [(0, len(text))])
    chunks, _ = vectorize(emb, [untitled], passage_embed_text)
    assert np.allclose(chunks[0], emb.embed([text])[0], atol=1e-6)  # no title run: the first sentence's specials


def test_unknown_mode_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import index.vectorize as vectorize_module
    from index.errors import CiteqaError

    monkeypatch.setattr(vectorize_module, "MODE", "fast")
    with pytest.raises(CiteqaError, match="CITEQA_SENTENCE_VECTORS"):
        vectorize(FakeTokenEmbedder(), [], passage_embed_text)


@pytest.mark.slow
def test_real_model_sentence_first(real_embedder) -> None:  # type: ignore[no-untyped-def]
    if not hasattr(real_embedder, "embed_tokens"):
        pytest.skip(f"{real_embedder.backend} has no token outputs")
    text = "Vitamin D supplements reduced hip fractures. The effect was largest in women over seventy."
    cut = text.index(" The")
    doc = DocParts("Bone health", text, [(0, len(text))], [(0, cut, 0), (cut + 1, len(text), 0)])
    chunks, sentences = vectorize(real_embedder, [doc], passage_embed_text)
    alone = real_embedder.embed([text[:cut], text[cut + 1 :]])
    assert np.allclose(sentences, alone, atol=1e-5)  # sentence vectors are exact
    whole = real_embedder.embed([passage_embed_text(doc.title, text)])[0]
    other = real_embedder.embed(["Tariffs on steel imports were raised by the trade ministry in March."])[0]
    # the pooled passage stands in for embedding it whole (SciFact passages: cosine 0.92 on average)
    assert float(chunks[0] @ whole) > 0.8
    assert float(chunks[0] @ whole) > float(chunks[0] @ other) + 0.5
