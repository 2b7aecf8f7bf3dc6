"""The business-tagged seed corpus (generator/data/seed_corpus.jsonl), read in one place.

Few-shot examples for the generator and training examples for fine-tuning come from the same
rows: one JSON object a line with `category`, `product`, `text` and tags (`sentiment`,
`cta_type`, `tone`). Lines that are not JSON, and rows without copy, are skipped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from generator.prompts import FewShotExample

SEED_CORPUS = Path(__file__).resolve().parent / "data" / "seed_corpus.jsonl"


def seed_corpus_rows(*, category: str, path: Path = SEED_CORPUS) -> list[dict[str, Any]]:
    """The corpus's rows of one category (case-insensitive) that have copy; [] without the file."""
    if not path.exists():
        return []
    wanted = category.strip().lower()
    rows: list[dict[str, Any]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if str(row.get("category", "")).strip().lower() == wanted and str(row.get("text", "")).strip():
            rows.append(row)
    return rows


def seed_corpus_examples(*, category: str, path: Path = SEED_CORPUS) -> list[FewShotExample]:
    """The category's corpus copy as few-shot examples."""
    return [
        FewShotExample(
            title=str(row.get("product") or "a product"), text=str(row["text"]), category=str(row.get("category", ""))
        )
        for row in seed_corpus_rows(category=category, path=path)
    ]
