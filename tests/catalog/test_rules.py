"""The call-to-action detector shared by the brand check, the CTA scorer and fine-tuning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from catalog.rules import cta_matches, has_call_to_action

CORPUS = Path(__file__).resolve().parents[2] / "generator" / "data" / "seed_corpus.jsonl"


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Soft cotton tee. Shop now.", ["Shop now"]),
        ("Twelve bags at value-pack pricing. Stock the cupboard while the offer lasts.", ["Stock the"]),
        ("Only a few units remain at this price, so act fast.", ["act fast"]),
        ("Shop now. Order yours today.", ["Shop now", "Order yours"]),  # one match per call, not two
        ("Fresh lager, brewed weekly. Reserve your six-pack before today's batch sells out!", ["Reserve your"]),
        ("Reserve your six-pack before today's batch sells out!", []),  # a closer needs something to close
        ("Warm socks.  Browse the range.", ["Browse the"]),  # two spaces
        ("Warm socks.\n\nBrowse the range.", ["Browse the"]),  # a new paragraph
        ("A big bottle. Grab the 1.5 l bottle.", ["Grab the"]),  # a decimal is not a sentence end
        ("Light and warm. Don’t wait.", ["Don’t wait"]),  # a curly apostrophe
        ("Light and warm. Give it another go.", ["Give it another"]),
    ],
)
def test_closing_imperatives_count_as_calls_to_action(text, found):
    assert cta_matches(text) == found


@pytest.mark.parametrize(
    "text",
    [
        "Wireless earbuds with a case.",
        "Enjoy crisp sound all day.",  # a benefit, not a request
        "Try-hard styling is not our thing; this tee just fits.",
        # verbs that are nouns here: a closer needs an object or a particle after the verb
        "Great earbuds. Order history is kept for a year.",
        "Soft tee. Stock is limited.",
        "A lovely set. Gift box included.",
        "Runs long. Test results: 30 hours.",
        "Open daily. Start times vary by store.",
        "Bright colours. Pop art print tee.",
    ],
)
def test_descriptions_are_not_calls_to_action(text):
    assert not has_call_to_action(text)


def test_the_seed_corpus_tags_agree_with_the_detector():
    rows = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    tagged = [r for r in rows if r["cta_type"] != "none"]
    untagged = [r for r in rows if r["cta_type"] == "none"]
    found = sum(has_call_to_action(r["text"]) for r in tagged)
    assert found >= 0.95 * len(tagged), f"{found} of {len(tagged)} tagged lines have a detected CTA"
    assert not [r["text"] for r in untagged if has_call_to_action(r["text"])]
