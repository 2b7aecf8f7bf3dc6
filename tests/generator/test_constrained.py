"""Grounded decoding: the logits processor lets a row write only its product's numbers."""

from __future__ import annotations

import pytest

from generator.constrained import (
    DecodingConstraint,
    GroundedNumbersProcessor,
    TokenTable,
    allowed_numeric,
    decoding_processors,
    number_state,
    product_numbers,
)
from generator.constrained_words import ClosedWordsProcessor, WordSet, fits, word_set_for, word_tail

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


# --- closed-vocabulary decoding (generator.constrained_words) ---------------------------------

WORD_PIECES = ["", " the", " lamp", " gam", "ing", " fold", "able", " arm", ".", " capacity", " 2", "7", "'s", "-"]
WORD_PIECES += [" USB", "C", " art", "isans"]
WORD_ID = {piece: i for i, piece in enumerate(WORD_PIECES)}
LAMP_WORDS = frozenset({"the", "lamp", "foldable", "arm", "usb", "is", "art"})


def test_a_piece_fits_when_it_ends_allowed_words_and_starts_a_prefix_of_one():
    words = WordSet(LAMP_WORDS)
    assert fits("", " the", words) and fits("", " fold", words) and fits("fold", "able", words)
    assert not fits("", " gam", words)  # no allowed word starts "gam"
    assert not fits("fold", ".", words)  # "fold" is not a word of its own here
    assert fits("foldable", ".", words) and fits("lamp", "'s", words)
    assert fits("", " 2", words) and fits("", " USB", words)
    assert not fits("usb", "-", words)  # no compound of this set starts "usb-"
    usb_c = WordSet(LAMP_WORDS | {"c"}, compounds=frozenset({"usb-c"}))
    assert fits("usb", "-", usb_c) and fits("usb-", "C", usb_c) and fits("usb-c", ".", usb_c)
    assert not fits("usb-", "C", WordSet(LAMP_WORDS, compounds=frozenset({"usb-c"})))  # "c" is no word here
    assert not fits("", " capacity", words)
    assert not fits("art", "isans", words)  # "art" is allowed, "artisans" is not


def test_word_tail_is_the_word_being_written():
    pieces = WORD_PIECES
    assert word_tail(pieces, [WORD_ID[" the"], WORD_ID[" fold"]]) == "fold"
    assert word_tail(pieces, [WORD_ID[" fold"], WORD_ID["able"], WORD_ID["."]]) == ""
    assert word_tail(pieces, []) == ""


def test_closed_words_processor_masks_each_row_and_leaves_free_rows_alone():
    constraint = DecodingConstraint(words=WordSet(LAMP_WORDS))
    table = TokenTable.from_pieces(WORD_PIECES)
    processors = decoding_processors(table, [constraint, DecodingConstraint()], prompt_length=1)
    assert isinstance(processors[-1], ClosedWordsProcessor)
    ids = torch.tensor([[0, WORD_ID[" fold"]], [0, WORD_ID[" fold"]]])
    scores = torch.zeros((2, len(WORD_PIECES)))
    for processor in processors:
        scores = processor(ids, scores)
    open_ = [{WORD_PIECES[i] for i in range(len(WORD_PIECES)) if scores[row, i] > -float("inf")} for row in (0, 1)]
    assert open_[0] == {"able"}  # after "fold", only the end of "foldable"
    assert {" gam", " capacity", "ing", "."} <= open_[1]  # the row without words is free
    assert decoding_processors(table, [DecodingConstraint()], prompt_length=1)[-1].__class__ is not ClosedWordsProcessor


def test_a_row_with_no_fitting_token_keeps_its_scores():
    processor = ClosedWordsProcessor(WORD_PIECES, [WordSet(frozenset({"zebra"}))], prompt_length=1)
    ids = torch.tensor([[0, WORD_ID[" gam"]]])
    scores = torch.arange(len(WORD_PIECES), dtype=torch.float).unsqueeze(0)
    out = processor(ids, scores.clone())
    assert torch.equal(out, scores)


def test_an_english_word_that_only_the_closed_list_continues_is_a_dead_end():
    """ "home" starts "homesick" (an allowed sentiment word), but a model that writes " home" means
    home: once written, nothing allowed finishes it. A prefix of the product's own word stays open."""
    words = word_set_for(
        frozenset({"homesick", "foldable", "my"}), frozenset({"foldable"}), frozenset({"home", "fold"})
    )
    assert not fits("my", " home", words)
    assert fits("", " fold", words) and fits("fold", "able", words)
    assert fits("", " homes", words)  # not an English word of its own here: may still become "homesick"


def test_a_compound_must_be_one_the_set_allows():
    words = WordSet(frozenset({"hand", "woven", "must", "have", "a"}), compounds=frozenset({"must-have"}))
    assert fits("", " must", words) and fits("must", "-", words) and fits("must-", "have", words)
    assert fits("must-have", " a", words)
    assert not fits("hand", "-", words) and not fits("hand-", "woven", words)
    assert word_tail([" a", " must", "-", "ha"], [0, 1, 2, 3]) == "must-ha"


def test_no_capital_inside_a_word_and_no_long_word_glued_to_a_figure():
    """Read in held-out picks: "sizeS", "betWEEN", "100greater", "650greeds"."""
    words = WordSet(frozenset({"sizes", "size", "greater", "g", "kg", "between"}))
    assert fits("size", "s", words) and not fits("size", "S", words) and not fits("bet", "WEEN", words)
    assert fits("", " Sizes", words)  # a capital that starts a word is fine
    assert word_tail(["1", "0", "0"], [0, 1, 2]) == "0" and word_tail(["5", "k"], [0, 1]) == "5k"
    assert fits("0", "kg", words) and fits("5k", "g", words) and not fits("0", "greater", words)
    assert fits("0", " greater", words)


def test_the_word_start_shortcut_decides_as_fits_does():
    """`_allowed` answers whitespace-led pieces from `WordSet.word_starts` (one scan per vocabulary) and
    `fits(tail, " ")`; on every tail and piece of a mixed vocabulary it must keep exactly the tokens that
    `fits` keeps piece by piece."""
    pieces = [*WORD_PIECES, " Lamp", " lamp's", " usb-c", " 5kg", "\n", "\nthe", " the.", " ", "’s", "s", "5", " é"]
    pieces += [" fold-", " arm,", ",", "!", " 7", "C."]
    words = word_set_for(
        LAMP_WORDS | {"c", "kg"}, frozenset({"lamp", "foldable", "kg"}), frozenset({"fold", "home"}),
        compounds=frozenset({"usb-c"}),
    )  # fmt: skip
    processor = ClosedWordsProcessor(pieces, [words], prompt_length=0, eos_ids=[0])
    tails = ["", "the", "fold", "foldable", "lamp", "lamp'", "usb", "usb-", "usb-c", "5", "gam", "art", "Lamp", "home"]
    every = list(range(len(pieces)))
    for tail in tails:
        expected = [t for t in every if fits(tail, " " if t == 0 or not pieces[t] else pieces[t], words)]
        assert processor._allowed(tail, every, words) == expected, tail
    assert words.word_starts(pieces) is words.word_starts(pieces)  # scanned once per vocabulary, then held
