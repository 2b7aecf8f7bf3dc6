"""Result types shared by the guards: one `Finding` per problem, one `GuardReport` per candidate."""

from __future__ import annotations

from dataclasses import dataclass

GROUNDING = "grounding"
TOPIC = "topic"
PUBLISHABLE = "publishable"
GUARDS = (GROUNDING, TOPIC, PUBLISHABLE)
# Findings that say copy is weak, not false or unfit: copy with only these still passes (an LLM arm may
# fall back to it when nothing better passed), but is never clean: the reranker ranks it after every
# clean candidate, and only clean copy is approved without a reviewer or trained on.
ADVISORY_CODES = frozenset({"vacuous"})


@dataclass(frozen=True)
class Finding:
    """One reason the copy may not be published.

    guard: which guard found it (`grounding`, `topic`, `publishable`); code: a stable machine name
    (`unsupported_figure`, `off_topic_product`, `placeholder`, …); message: a sentence for the
    reviewer that quotes the claim; claim: the offending text as it appears in the copy.
    """

    guard: str
    code: str
    message: str
    claim: str = ""


@dataclass(frozen=True)
class GuardReport:
    passed: bool  # no finding but advisory ones (`ADVISORY_CODES`)
    findings: tuple[Finding, ...] = ()

    @classmethod
    def of(cls, findings: tuple[Finding, ...] | list[Finding]) -> GuardReport:
        findings = tuple(findings)
        return cls(passed=all(f.code in ADVISORY_CODES for f in findings), findings=findings)

    @property
    def clean(self) -> bool:
        """No finding at all, advisory ones included."""
        return not self.findings

    def by_guard(self, guard: str) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.guard == guard)

    @property
    def messages(self) -> tuple[str, ...]:
        return tuple(f.message for f in self.findings)


@dataclass(frozen=True)
class Claim:
    """One checkable claim of a copy, found by the grounding guard, and whether the data supports it."""

    kind: (
        str  # figure, standard, acronym, fibre_share, material, colour, size, certification, feature, comparative, name
    )
    text: str
    start: int
    end: int
    supported: bool
    detail: str = ""  # what the data says instead, when it says something
