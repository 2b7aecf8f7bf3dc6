"""Grounded decoding: the logits processor lets a row write only its product's numbers."""

from __future__ import annotations

import pytest

from generator.constrained import (
    DecodingConstraint,
    GroundedNumbersProcessor,
    TokenTable,
    allowed_numeric,
    number_state,
    product_numbers,
)

torch = pytest.importorskip("torch")

# A toy vocabulary in the shape of SmolLM2's: one token per digit, punctuation apart.
PIECES = ["", " hours", " battery", "0", "1", "2", "3", "5", "7", ".", ",", " ", ":", "[", "%", " http", "😀", " ²"]
PIECES += ["é"]
ID = {piece: i for i, piece in enumerate(PIECES)} | {"<s>": 0}
TABLE = TokenTable.from_pieces(PIECES)


def test_product_numbers_keep_written_forms_and_drop_thousands_separators():
    assert product_numbers(["up to 30 hours, Bluetooth 5.3", "10,000 mm head", "size 1 L."]) == {
        "30",
        "5.3",
        "10,000",
        "10000",
        "1",
    }


def test_token_table_sorts_digits_and_bans_what_copy_never_needs():
    assert TABLE.numeric == {ID[d]: d for d in ("0", "1", "2", "3", "5", "7", ".", ",")}
    banned = {PIECES[i] for i in TABLE.banned}
    assert banned == {":", "[", " http", "😀", " ²"}
    assert [PIECES[i] for i in TABLE.percent] == ["%"]
    assert ID["é"] not in TABLE.banned  # accented Latin letters stay (brand names)


@pytest.mark.parametrize(
    ("tokens", "state"),
    [(["3", "0"], "30"), ([" hours", "."], ""), (["5", ".", "3"], "5.3"), (["3", "0", "."], "30."), ([], "")],
)
def test_number_state_is_the_number_being_written(tokens, state):
    assert number_state(TABLE.numeric, [ID[t] for t in tokens]) == state


def test_only_prefixes_of_product_numbers_may_continue():
    constraint = DecodingConstraint(numbers=frozenset({"30", "5.3"}))
    allowed, may_end = allowed_numeric("", constraint, TABLE)
    assert {PIECES[i] for i in allowed} == {"3", "5", ".", ","}  # punctuation after a word is free
    assert may_end
    allowed, may_end = allowed_numeric("5", constraint, TABLE)
    assert {PIECES[i] for i in allowed} == {"."} and not may_end  # "5" alone is not a product number
    allowed, may_end = allowed_numeric("30", constraint, TABLE)
    assert {PIECES[i] for i in allowed} == {".", ","} and may_end  # "30." ends a sentence


def _step(processor: GroundedNumbersProcessor, generated: list[list[str]]) -> torch.Tensor:
    prompt = [[ID["<s>"]] for _ in generated]
    ids = torch.tensor([p + [ID[t] for t in row] for p, row in zip(prompt, generated, strict=True)])
    scores = torch.zeros((len(generated), len(PIECES)))
    return processor(ids, scores)


def test_processor_applies_each_rows_constraint():
    headphones = DecodingConstraint(numbers=frozenset({"30"}))
    juice = DecodingConstraint(numbers=frozenset({"1", "12"}), allow_percent=True)
    processor = GroundedNumbersProcessor(TABLE, [headphones, juice], prompt_length=1)
    scores = _step(processor, [[" battery"], [" battery"]])
    open_ = [{PIECES[i] for i in range(len(PIECES)) if scores[row, i] > -float("inf")} for row in (0, 1)]
    assert "3" in open_[0] and "1" not in open_[0] and "7" not in open_[0]  # "17 hours" cannot start
    assert "1" in open_[1] and "3" not in open_[1]
    assert "%" not in open_[0] and "%" in open_[1]
    for row in open_:
        assert not row & {":", "[", " http", "😀"}
        assert {" hours", ".", " "} <= row


def test_processor_forces_an_unfinished_number_to_complete():
    processor = GroundedNumbersProcessor(TABLE, [DecodingConstraint(numbers=frozenset({"12"}))], prompt_length=1)
    scores = _step(processor, [["1"]])
    assert [PIECES[i] for i in range(len(PIECES)) if scores[0, i] > -float("inf")] == ["2"]
    scores = _step(processor, [["1", "2"]])
    open_ = {PIECES[i] for i in range(len(PIECES)) if scores[0, i] > -float("inf")}
    assert " hours" in open_ and not open_ & {"0", "1", "2", "3", "5", "7"}
