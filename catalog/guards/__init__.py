"""Guards on generated copy: pure functions (no Django, no model) that say whether a candidate
may be published for a product, and why not.

    index = fact_index(ProductFacts.from_mapping(row))   # once per product
    report = guards_check(text, index)                   # per candidate
    report.passed, report.findings                       # Finding(guard, code, message, claim)
    report.clean                                         # passed without even an advisory finding

Guards: `grounding` (every figure, standard, material, colour, size, certification, feature,
comparison and name comes from the product's data), `topic` (the copy is about this product),
`publishable` (whole English sentences, no field lists, placeholders, chat artefacts, URLs,
disparagement or invented offers). See each module's docstring for its rules.
"""

from catalog.guards.check import guards_check
from catalog.guards.facts import FactIndex, ProductFacts, fact_index
from catalog.guards.grounding import Claim, extract_claims, grounding_check
from catalog.guards.publishable import publishable_check
from catalog.guards.topic import lexical_relevance, topic_check
from catalog.guards.types import ADVISORY_CODES, GROUNDING, GUARDS, PUBLISHABLE, TOPIC, Finding, GuardReport

__all__ = [
    "ADVISORY_CODES",
    "GROUNDING",
    "GUARDS",
    "PUBLISHABLE",
    "TOPIC",
    "Claim",
    "FactIndex",
    "Finding",
    "GuardReport",
    "ProductFacts",
    "extract_claims",
    "fact_index",
    "grounding_check",
    "guards_check",
    "lexical_relevance",
    "publishable_check",
    "topic_check",
]
