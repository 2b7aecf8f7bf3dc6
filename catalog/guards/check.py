"""One entry point for every guard: `guards_check(text, facts) -> GuardReport`."""

from __future__ import annotations

from collections.abc import Iterable

from catalog.guards.closed_vocabulary import closed_vocabulary_check
from catalog.guards.data_phrases import data_phrases_check
from catalog.guards.facts import FactIndex, ProductFacts, fact_index
from catalog.guards.grounding import grounding_check
from catalog.guards.publishable import publishable_check
from catalog.guards.topic import topic_check
from catalog.guards.types import GROUNDING, GUARDS, PUBLISHABLE, TOPIC, GuardReport


def guards_check(
    text: str,
    facts: ProductFacts | FactIndex,
    *,
    similarity: float | None = None,
    min_similarity: float = 0.15,
    guards: Iterable[str] = GUARDS,
    closed_vocabulary: bool = False,
) -> GuardReport:
    """Run the guards on one candidate. Pass a `FactIndex` (built once per product with
    `fact_index`) when checking many candidates; a `ProductFacts` is indexed on every call.
    `similarity`: the caller's embedding similarity of copy and product, if it has one.
    `closed_vocabulary`: generated copy may use only the data's words and plain shop language
    (`catalog.guards.closed_vocabulary`), put together only as the data puts them
    (`catalog.guards.data_phrases`); both part of the grounding guard; the generator sets it."""
    index = facts if isinstance(facts, FactIndex) else fact_index(facts)
    wanted = set(guards)
    unknown = wanted - set(GUARDS)
    if unknown:
        raise ValueError(f"unknown guards: {sorted(unknown)}; known: {list(GUARDS)}")
    findings = []
    if GROUNDING in wanted:
        findings.extend(grounding_check(text, index))
        if closed_vocabulary:
            findings.extend(closed_vocabulary_check(text, index))
            findings.extend(data_phrases_check(text, index))
    if TOPIC in wanted:
        findings.extend(topic_check(text, index, similarity=similarity, min_similarity=min_similarity))
    if PUBLISHABLE in wanted:
        findings.extend(publishable_check(text, index))
    return GuardReport.of(findings)
