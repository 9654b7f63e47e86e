"""The placement corpus (issue 14): the labelled sentences the placement classifier learns from
are well formed, balanced enough to learn every concept, and ship with the package."""

from __future__ import annotations

import json
import tomllib
from collections import Counter
from fnmatch import fnmatch
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from appliance.records.dictations import MODALITIES as DICTATION_MODALITIES

CORPUS = "placement_corpus.json"
CONCEPTS = {
    "header",
    "session",
    "report",
    "observation",
    "intervention",
    "response",
    "assessment",
    "goal",
    "plan",
    "risk",
}
# Every modality a dictation can name, and the two kinds of session that are not one person.
MODALITIES = set(DICTATION_MODALITIES) | {"couples", "group"}
# The preamble and the session line are short and formulaic: fewer examples teach them.
FORMULAIC = {"header", "session"}
MIN_FORMULAIC = 40
MIN_CLINICAL = 60
MIN_TOTAL = 900
MAX_CHARS = 400
# The concepts whose wording differs most between modalities: each must be seen in every one.
EVERY_MODALITY = ("intervention", "response", "observation", "plan")


@pytest.fixture(scope="module")
def corpus() -> dict[str, Any]:
    # Read through the package, as the classifier does, so a misplaced file fails here.
    loaded: dict[str, Any] = json.loads(files("appliance.drafting").joinpath(CORPUS).read_text())
    return loaded


@pytest.fixture(scope="module")
def sentences(corpus: dict[str, Any]) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = corpus["sentences"]
    return rows


def test_it_says_what_it_is_and_defines_each_of_the_ten_concepts(corpus: dict[str, Any]) -> None:
    assert corpus["about"].strip()
    assert set(corpus["concepts"]) == CONCEPTS
    assert all(definition.strip() for definition in corpus["concepts"].values())


def test_it_holds_only_text_concept_and_modality_with_known_labels(
    sentences: list[dict[str, str]],
) -> None:
    for row in sentences:
        assert set(row) == {"text", "concept", "modality"}, row
        assert row["concept"] in CONCEPTS, row
        assert row["modality"] in MODALITIES, row


def test_it_holds_at_least_900_sentences(sentences: list[dict[str, str]]) -> None:
    assert len(sentences) >= MIN_TOTAL


@pytest.mark.parametrize("concept", sorted(CONCEPTS))
def test_it_has_enough_sentences_of_each_concept(
    sentences: list[dict[str, str]], concept: str
) -> None:
    minimum = MIN_FORMULAIC if concept in FORMULAIC else MIN_CLINICAL
    assert Counter(row["concept"] for row in sentences)[concept] >= minimum


def test_it_holds_no_sentence_twice_ignoring_case_and_spacing(
    sentences: list[dict[str, str]],
) -> None:
    counts = Counter(" ".join(row["text"].lower().split()) for row in sentences)
    assert [text for text, count in counts.items() if count > 1] == []


def test_every_sentence_is_non_empty_and_under_400_characters(
    sentences: list[dict[str, str]],
) -> None:
    for row in sentences:
        assert row["text"].strip(), row
        assert len(row["text"]) < MAX_CHARS, row


@pytest.mark.parametrize("concept", EVERY_MODALITY)
def test_it_covers_every_modality_for_the_concept(
    sentences: list[dict[str, str]], concept: str
) -> None:
    seen = {row["modality"] for row in sentences if row["concept"] == concept}
    assert seen == MODALITIES


def test_it_ships_in_the_wheel_as_package_data() -> None:
    pyproject = Path(__file__).resolve().parents[3] / "pyproject.toml"
    globs = tomllib.loads(pyproject.read_text())["tool"]["setuptools"]["package-data"]["appliance"]
    assert any(fnmatch(f"drafting/{CORPUS}", pattern) for pattern in globs)
