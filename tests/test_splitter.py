"""The rule sentence splitter: abbreviations, decimals, quotes, initials, exact offsets."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.sentences import split
from index.splitter import split_block


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in split_block(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Dr. Alvarez met the U.S. Secretary of State on Monday. They spoke for an hour.",
            ["Dr. Alvarez met the U.S. Secretary of State on Monday.", "They spoke for an hour."],
        ),
        (
            "Exports rose to the U.S. The agreement took effect in March.",
            ["Exports rose to the U.S.", "The agreement took effect in March."],
        ),
        (
            "Mean weight fell by 2.5 kg (p < 0.05). Adverse events were rare.",
            ["Mean weight fell by 2.5 kg (p < 0.05).", "Adverse events were rare."],
        ),
        (
            "Several agents, e.g. Metformin and insulin, were tested. See Fig. 2 and No. 5 for details.",
            ["Several agents, e.g. Metformin and insulin, were tested.", "See Fig. 2 and No. 5 for details."],
        ),
        (
            "The report by J. K. Ortega was cited. Patients lacked vitamin D. Supplements helped.",
            ["The report by J. K. Ortega was cited.", "Patients lacked vitamin D.", "Supplements helped."],
        ),
        (
            'The minister said "We will not sign." Talks resumed later. Was it enough? Nobody knew!',
            ['The minister said "We will not sign."', "Talks resumed later.", "Was it enough?", "Nobody knew!"],
        ),
        (
            "Smith et al. reported a rise. The cohort was small.",
            ["Smith et al. reported a rise.", "The cohort was small."],
        ),
        (
            "The effect was robust.[12] Further work is needed.",
            ["The effect was robust.[12]", "Further work is needed."],
        ),
        (
            "Loss of function was lethal. p53 was not required. miR-375 bound the site.",
            ["Loss of function was lethal.", "p53 was not required.", "miR-375 bound the site."],
        ),
        ("1. Introduction to the method. It works well.", ["1. Introduction to the method.", "It works well."]),
        ("Prices rose in Jan. 2020 and fell later.", ["Prices rose in Jan. 2020 and fell later."]),
        ("it ends without punctuation", ["it ends without punctuation"]),
        ("Versus what? the panel asked.", ["Versus what? the panel asked."]),
    ],
)
def test_splits_like_a_reader(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


def test_offsets_are_exact_with_surrounding_space() -> None:
    text = "  First one here.   Second one here.  "
    spans = split_block(text)
    assert [text[s:e] for s, e in spans] == ["First one here.", "Second one here."]
    assert spans[0][0] == 2


def test_non_breaking_spaces_do_not_hide_an_abbreviation() -> None:
    text = "Central America\xa0Advances\xa0U.S. Interests in the region."
    assert sentences(text) == [text]


def test_split_keeps_headings_and_soft_wraps() -> None:
    text = "Bilateral Relations\n\nThe two countries signed\nan accord in 2019. It lapsed in 2021.\n"
    got = [(text[s.start : s.end], s.heading) for s in split(text)]
    assert got == [
        ("Bilateral Relations", True),
        ("The two countries signed\nan accord in 2019.", False),
        ("It lapsed in 2021.", False),
    ]


_words = st.text(alphabet=st.sampled_from(list("abcdefghij ABCDEFG.,!?\"'()[]0123456789\n\xa0-")), max_size=300)


@settings(max_examples=300, deadline=None)
@given(_words)
def test_every_sentence_is_its_exact_text_in_order(text: str) -> None:
    out = split(text)
    prev_end = 0
    for s in out:
        piece = text[s.start : s.end]
        assert piece and piece == piece.strip()
        assert s.start >= prev_end
        prev_end = s.end
    # nothing with letters or digits is lost from an indexable block
    covered = "".join(text[s.start : s.end] for s in out)
    assert sum(ch.isalnum() for ch in covered) <= sum(ch.isalnum() for ch in text)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.lists(
            st.sampled_from(["alpha", "beta", "gamma", "U.S.", "Dr.", "e.g.", "3.14", "delta"]), min_size=2, max_size=8
        ),
        min_size=1,
        max_size=6,
    )
)
def test_generated_sentences_are_never_cut(sents: list[list[str]]) -> None:
    parts = [" ".join(["Zeta", *ws]) + " omega." for ws in sents]
    text = " ".join(parts)
    got = sentences(text)
    joined = " ".join(got)
    assert joined == text  # nothing lost, order kept
    for p in parts:  # each generated sentence lies inside one found sentence
        assert any(p in g for g in got)
