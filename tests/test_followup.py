"""Follow-up questions: which earlier words are carried into a short question, and what the answer then finds."""

from __future__ import annotations

import pytest

from qa.followup import contextualize, needs_context

SAFE = "What is the Safe Third Country Agreement?"


def test_pronoun_question_carries_the_previous_topic() -> None:
    ctx = contextualize("When was it suspended?", [SAFE])
    assert ctx.used
    assert ctx.carried == ("Safe", "Third", "Country", "Agreement")
    assert ctx.query == "When was it suspended? Safe Third Country Agreement"
    assert ctx.previous == SAFE
    assert ctx.focus == "When was it suspended?"  # the answer sentence must cover the follow-up's own words


def test_a_question_with_no_words_of_its_own_is_answered_from_the_whole_query() -> None:
    ctx = contextualize("Where?", ["When did Rubio meet Arévalo?"])
    assert ctx.used and ctx.carried == ("Rubio", "meet", "Arévalo")
    assert ctx.focus is None  # nothing to cover: the answer sentence is judged against the full query


def test_standalone_questions_are_left_alone() -> None:
    for question, history in [
        ("By how much did Guatemala agree to increase deportation flights?", [SAFE]),
        ("When was it suspended?", None),
        ("When was it suspended?", ["", "   "]),
    ]:
        ctx = contextualize(question, history)
        assert not ctx.used and ctx.query == question and ctx.carried == () and ctx.focus is None


def test_elliptical_questions_need_context() -> None:
    assert needs_context("And Costa Rica?")
    assert needs_context("What about the other direction?")
    assert needs_context("Where?")
    assert not needs_context("Which US agency will draw up preliminary designs for expanding Guatemalan ports?")


def test_acronyms_that_spell_function_words_are_carried() -> None:
    ctx = contextualize("And what does it sell there?", ["What does the US import from Guatemala?"])
    assert "US" in ctx.carried and "Guatemala" in ctx.carried


def test_words_the_follow_up_already_has_are_not_repeated() -> None:
    ctx = contextualize("And Costa Rica?", ["How much cocaine did Panama seize in 2016?"])
    assert ctx.carried == ("cocaine", "Panama", "seize", "2016")


def test_earlier_turns_chain() -> None:
    ctx = contextualize("What about Honduras?", ["What is CICIG?", "Who supports it?"])
    assert ctx.used and "CICIG" in ctx.carried
    assert ctx.previous is not None and ctx.previous.startswith("Who supports it?")


@pytest.mark.slow
def test_follow_up_answers_with_the_2021_suspension(default_engine) -> None:  # type: ignore[no-untyped-def]
    first = default_engine.ask(SAFE)
    assert first.answer is not None and "suspended" not in first.answer.text
    result = default_engine.ask("When was it suspended?", history=[SAFE])
    assert result.context.used
    assert result.answer is not None
    assert "suspended in 2021" in " ".join(result.answer.text.split())
    cited = [p for p in result.passages if p.highlight]
    assert cited and cited[0].doc_id == "zamani-guatemala-foreign-policy"
    data = result.to_dict()
    assert data["context"]["used"] is True and data["context"]["previous"] == SAFE


@pytest.mark.slow
def test_follow_up_with_a_new_entity_answers_about_it(default_engine) -> None:  # type: ignore[no-untyped-def]
    result = default_engine.ask("And Costa Rica?", history=["How much cocaine did Panama seize in 2016?"])
    assert result.answer is not None
    assert "Costa Rica" in result.answer.text and "24 metric tons" in " ".join(result.answer.text.split())
