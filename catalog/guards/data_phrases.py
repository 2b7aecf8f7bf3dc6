"""Data words recombined: a phrase of the product's own words that its data never puts together.

The closed vocabulary (`closed_vocabulary`) lets generated copy use only the data's words, and the
small model then makes its claims by recombining them: "natural cotton" for a canvas tote whose
*colour* is natural, "hand quilted gilet" from "hand pockets" and "quilted gilet", "3 cleanings"
from "3 cleaning modes", "30 scarfs" from "180 x 30 cm". Each word is the data's; the relation
between them is not. This check reads relations the simple way a copy editor checks a modifier
against the spec sheet:

- a *run* is a stretch of adjacent content words of the data (and figures) in one clause, with no
  function word, closed-list word (`vocabulary.closed_stems`), punctuation or brand name between;
- a run of the copy must appear in order (gaps allowed) inside one run of the data: "organic tee" in
  "organic cotton tee", "2 pockets" in "2 zipped hand pockets", "battery life" in "battery life";
- or it is a run of the title or of an attribute that describes the whole product (colour, material,
  shell, upper, flavour…) followed by a run of the data that ends in a word of the title or a kind of
  product the data names: "olive green gilet", "natural tote", "citrus multi-surface cleaner"; not
  "recycled polyester gilet" when recycled polyester is the *filling*, nor "natural cotton" for a
  canvas tote whose colour is natural;
- a figure and a unit close a measure ("30 hours", "750 ml", "100 %"): what follows starts a new run,
  and the measure's own attribution is the figure rules' (`misattribution`); a figure with no unit
  must end where its data run ends: "3 modes" and "3 cleaning modes", not "3 cleaning";
- "more", "other", "extra" after a figure stay in its run ("2 more trackers" is a count claim).

Attribute keys join their values both ways ("colour natural", "natural colour"). Pure, for generated
copy only (like the closed vocabulary, `guards_check(…, closed_vocabulary=True)`): "a cosy olive gilet
with two hand pockets" is fine from a person, and a reviewer needs no warning about word order.
"""

from __future__ import annotations

import bisect
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from catalog.guards import english, lexicon
from catalog.guards.closed_vocabulary import brand_words, word_forms
from catalog.guards.facts import FactIndex, ProductFacts
from catalog.guards.text import fold, key_unit, normalise
from catalog.guards.types import GROUNDING, Finding
from catalog.guards.vocabulary import closed_stems, stem, type_pattern

# Punctuation ends a clause; a decimal point or a thousands comma does not ("5.3", "20,000"), nor a hyphen
# inside a word.
_CLAUSE_BREAK = re.compile(r"[;:!?()\[\]\"“”…]|[.,](?!\d)|\s[-–—]+\s|\n")
# A code of letters and digits ("IPX4", "W38", "4K", "CR2032") is one token; a figure glued to its unit
# ("750ml") is two.
_TOKEN = re.compile(r"[^\W_]*\d[^\W_]*(?:[.,]\d+)*|%|[^\W\d_]+(?:'[^\W\d_]+)?")
_GLUED_MEASURE = re.compile(r"(\d+(?:[.,]\d+)*)([^\W\d_]+)")
_QUANTIFIERS = frozenset({"more", "other", "extra", "additional", "different", "new"})
# Attributes that describe the product as a whole: their value may stand before the product's noun.
WHOLE_PRODUCT_KEYS = frozenset(
    {"colour", "color", "material", "fabric", "finish", "pattern", "flavour", "flavor", "scent", "fit", "style"}
    | {"shell", "outer", "upper", "shade", "fragrance", "variety", "type", "sleeve", "leg", "neck"}
)  # fmt: skip
_UNITS = frozenset(lexicon.UNITS) | {"%"}
# Attributes whose value is never what a product is made of: "made of khaki" gives the colour as a material.
NOT_MATERIAL_KEYS = frozenset({"colour", "color", "shade", "size", "sizes", "fit", "style", "pattern", "waist"})


@dataclass(frozen=True)
class _Token:
    key: frozenset[str]  # stems of the word's forms; a figure's value as text
    figure: bool
    unit: bool  # a unit right after a figure: it closes a measure
    start: int
    end: int


@dataclass(frozen=True)
class _DataRun:
    tokens: tuple[_Token, ...]
    names_product: bool  # from the title or a whole-product attribute
    not_material: bool | None = None  # an attribute that is no material (colour, size); None: title or description


def _number(word: str, data: bool) -> str | None:
    """A figure's value as text; "one" is a number in the data ("one USB-C port") but too often a
    pronoun in copy ("the one for you"), as in the figure rules."""
    if re.fullmatch(r"\d+(?:,\d{3})*(?:\.\d+)?", word):
        return str(float(word.replace(",", "")))
    if re.fullmatch(r"\d+(?:[.,]\d+)*", word):
        return word
    value = lexicon.NUMBER_WORDS.get(word) or (lexicon.NUMBER_WORDS_DATA_ONLY.get(word) if data else None)
    return str(float(value)) if value else None


def _stems(word: str) -> frozenset[str]:
    """The stems of a word's forms; "resistance" and "resistant" are one word here."""
    forms = word_forms(word)
    for noun, adjective in (("ance", "ant"), ("ence", "ent")):
        if word.endswith(noun):
            forms.add(word.removesuffix(noun) + adjective)
    return frozenset(stem(form) for form in forms)


def _runs(text: str, breaks: frozenset[str], *, data: bool = False) -> list[list[_Token]]:
    """The text's runs: adjacent content words and figures, split at clauses, function words,
    closed-list words and `breaks` (the brand's words); a figure's unit ends its run."""
    closed = closed_stems()
    runs: list[list[_Token]] = []
    text = normalise(text)
    marks = list(_CLAUSE_BREAK.finditer(text))
    clauses = zip([0] + [m.end() for m in marks], [m.start() for m in marks] + [len(text)], strict=True)
    for lo, hi in clauses:
        run: list[_Token] = []
        for m in _TOKEN.finditer(text, lo, hi):
            raw = m.group(0)  # a figure as written: fold() would make "20,000" two words
            word = raw if raw[0].isdigit() and raw.replace(",", "").replace(".", "").isdigit() else fold(raw).strip()
            word = word.removesuffix("'s")
            glued = _GLUED_MEASURE.fullmatch(word)
            if glued and glued.group(2) in _UNITS:  # "750ml": a figure and its unit
                run.append(_Token(frozenset({_number(glued.group(1), data) or ""}), True, False, m.start(), m.end()))
                word = glued.group(2)
            number = _number(word, data) if word and word != "%" else None
            after_figure = bool(run) and run[-1].figure
            if number is not None:
                run.append(_Token(frozenset({number}), True, False, m.start(), m.end()))
                continue
            if word and not word.isalpha() and any(c.isdigit() for c in word):  # a code: "ipx4", "w38"
                run.append(_Token(frozenset({word}), False, False, m.start(), m.end()))
                continue
            if after_figure and word in _UNITS:
                run.append(_Token(frozenset({word}), False, True, m.start(), m.end()))
                runs.append(run)
                run = []
                continue
            stems = _stems(word) if word else frozenset()
            joins = not (word in ("", "%") or word in breaks or word in english.STOPWORDS or stems & closed)
            if not joins and after_figure and word in _QUANTIFIERS:
                joins = True
            if joins:
                run.append(_Token(stems | {word}, False, False, m.start(), m.end()))
            elif run:
                runs.append(run)
                run = []
        if run:
            runs.append(run)
    return runs


def _embeds(copy: list[_Token], data: tuple[_Token, ...]) -> bool:
    """`copy` in order inside `data`, gaps allowed; a figure run without a unit ends with `data`."""
    ends_with_figure_head = any(t.figure for t in copy) and not copy[-1].unit and not copy[-1].figure
    i = 0
    last = -1
    for j, tok in enumerate(data):
        if i < len(copy) and copy[i].key & tok.key:
            i += 1
            last = j
    if i < len(copy):
        return False
    return not ends_with_figure_head or last == len(data) - 1


_Measure = tuple[str, float]  # a dimension and its value in the base unit: ("mass", 60.0)


@dataclass(frozen=True)
class _DataPhrases:
    runs: tuple[_DataRun, ...]
    nouns: frozenset[str]  # stems of the product's own nouns
    brand: frozenset[str]
    words: frozenset[str]  # keys of every data token
    negated: frozenset[str]  # keys of the words the data itself negates ("no phosphates", "plastic-free")
    owners: dict[_Measure, tuple[tuple[_Token, ...], ...]]  # what each measure of the data is said of
    title_owners: frozenset[tuple[_Token, ...]]  # those of the title: the product, named by its last word
    head: frozenset[str]  # the title's head noun ("bar" of "Salted Caramel Protein Bar 60 g")
    kinds: frozenset[str]  # the head and the title's product-type words ("keyboard" of "Mechanical Keyboard Compact")
    title_measures: frozenset[_Measure]
    figure_clauses: dict[str, tuple[frozenset[str], ...]]  # a figure's value -> the words of each clause it is in
    durations: frozenset[_Measure]  # what the data says takes a time ("cooks in 12 minutes", `cook_minutes`)
    rates: frozenset[tuple[_Measure, str]]  # the data's measures per day, per charge, per wash…
    parts: tuple[tuple[tuple[_Token, ...], tuple[_Token, ...]], ...]  # "X with Y" of the data: (X, Y)
    done_in: dict[str, frozenset[str]]  # place -> the verbs the data says were done there ("made in Italy")


def _fields(facts: ProductFacts) -> list[tuple[str, bool, bool | None]]:
    """The data as texts, each with whether it describes the product as a whole and whether it is an
    attribute that is no material (None for the title, description and category)."""
    fields: list[tuple[str, bool, bool | None]] = [
        (facts.title, True, None),
        (facts.description, False, None),
        (facts.category, False, None),
    ]
    for key, value in facts.attributes.items():
        if value is False or value is None:
            continue
        words = key.replace("_", " ")
        whole = bool(set(words.split()) & WHOLE_PRODUCT_KEYS)
        not_material = bool(set(words.split()) & NOT_MATERIAL_KEYS)
        if value is True:
            fields.append((words, whole, not_material))
            continue
        shown = ", ".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)
        unit = key_unit(key)
        if unit and not isinstance(value, (list, tuple)):
            label = " ".join(w for w in words.split() if w != unit)
            texts = [f"{label} {shown} {unit}", f"{shown} {unit} {label}"]
        else:
            texts = [f"{words} {shown}", f"{shown} {words}"]
        fields += [(text, whole, not_material) for text in texts]
    return fields


# "in just 24 hours": a duration said as how soon something happens.
_TIME_UNITS = "|".join(sorted((re.escape(u) for u, (dim, _) in lexicon.UNITS.items() if dim == "time"), key=len,
                              reverse=True))  # fmt: skip
_NUMBER_WORDS = "|".join(sorted(lexicon.NUMBER_WORDS, key=len, reverse=True))
_IN_DURATION = re.compile(
    r"\b(?:in|within)\s+(?:just\s+|only\s+|under\s+|less than\s+|as little as\s+|about\s+|around\s+)?"
    rf"(\d+(?:\.\d+)?|{_NUMBER_WORDS})[\s-]?({_TIME_UNITS})\b"
)
# Attribute keys that time a task ("cook_minutes", "charge_time_h"): their value may be said "in 12 minutes".
_TASK_KEYS = frozenset({"cook", "cooking", "charge", "charging", "ready", "prep", "boil", "brew", "dry", "drying"})
_TASK_KEYS |= frozenset({"time", "delivery", "setup", "heat", "heating"})


# "50g per day": a measure as a rate of use or a dose, which the data must give as such ("50 g per day" is
# a dose nobody set; a battery's hours "per charge" are the figure rules' to check).
_RATE_UNITS = "|".join(sorted((re.escape(u) for u in lexicon.UNITS if u.isalpha()), key=len, reverse=True))
_RATE = re.compile(
    rf"(\d+(?:\.\d+)?)\s?({_RATE_UNITS})\s+(?:per|a|an|each|every)\s+"
    r"(day|week|month|year|night|morning|evening|meal|serving|person)s?\b"
)


def _rate(m: re.Match[str]) -> tuple[_Measure, str]:
    """What a `_RATE` match says: a measure in base units, per what."""
    dimension, factor = lexicon.UNITS[m.group(2)]
    return (dimension, round(float(m.group(1)) * factor, 6)), m.group(3)


def _duration(m: re.Match[str]) -> _Measure:
    """What an `_IN_DURATION` match says: a time in hours."""
    value = float(lexicon.NUMBER_WORDS.get(m.group(1)) or m.group(1))
    return "time", round(value * lexicon.UNITS[m.group(2)][1], 6)


def _durations(text: str) -> set[_Measure]:
    """The durations `text` says something takes: "cooks in 12 minutes", "charges within two hours"."""
    return {_duration(m) for m in _IN_DURATION.finditer(normalise(text))}


def _task_durations(facts: ProductFacts) -> set[_Measure]:
    """The data's durations: said "in/within" in its text, or the values of keys that time a task."""
    found = _durations(facts.title) | _durations(facts.description)
    for key, value in facts.attributes.items():
        if isinstance(value, str):
            found |= _durations(value)
        if not set(key.lower().split("_")) & _TASK_KEYS:
            continue
        if isinstance(value, str):  # "charge_time": "2 hours"
            found |= _durations(f"in {value}")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):  # "cook_minutes": 12
            dimension, factor = lexicon.UNITS.get(key_unit(key) or "", ("", 0.0))
            if dimension == "time":
                found.add(("time", round(float(value) * factor, 6)))
    return found


def _clause_words(text: str, runs: list[list[_Token]]) -> list[tuple[frozenset[str], frozenset[str]]]:
    """The words and the figures of each clause of `text` (the text `runs` were read from), the clauses
    ending where `_runs` ends one."""
    ends = [m.end() for m in _CLAUSE_BREAK.finditer(normalise(text))]
    clauses: dict[int, list[_Token]] = {}
    for run in runs:
        clauses.setdefault(bisect.bisect_right(ends, run[0].start), []).extend(run)
    return [
        (frozenset(k for t in tokens for k in t.key), frozenset(k for t in tokens if t.figure for k in t.key))
        for tokens in clauses.values()
    ]


def _data_phrases(facts: ProductFacts) -> _DataPhrases:
    attributes = json.dumps(dict(facts.attributes), sort_keys=True, default=str)
    return _data_phrases_of(facts.title, facts.brand, facts.category, facts.description, attributes)


@lru_cache(maxsize=256)
def _data_phrases_of(title: str, brand: str, category: str, description: str, attributes: str) -> _DataPhrases:
    """Cached by the data's text (a `ProductFacts` holds a dict, so it cannot be the key)."""
    facts = ProductFacts(
        sku="", title=title, brand=brand, category=category, description=description, attributes=json.loads(attributes)
    )
    brand = brand_words(facts.brand)
    runs: list[_DataRun] = []
    negated: set[str] = set()
    owners: dict[_Measure, list[tuple[_Token, ...]]] = {}
    figure_clauses: dict[str, list[frozenset[str]]] = {}
    title_owners: set[tuple[_Token, ...]] = set()
    rates: set[tuple[_Measure, str]] = set()
    parts: set[tuple[tuple[_Token, ...], tuple[_Token, ...]]] = set()
    done_in: dict[str, set[str]] = {}
    for text, names_product, not_material in _fields(facts):
        field_runs = _runs(text, brand, data=True)
        runs += [_DataRun(tuple(run), names_product, not_material) for run in field_runs]
        for words, figures in _clause_words(text, field_runs):
            for figure in figures:
                figure_clauses.setdefault(figure, []).append(words)
        rates.update(_rate(m) for m in _RATE.finditer(normalise(text)))
        negated.update(k for run in _negated_runs(text, field_runs) for t in run for k in t.key)
        parts.update(_with_pairs(text, field_runs))
        for m in _DONE_IN.finditer(normalise(text)):
            done_in.setdefault(fold(m.group(2)).strip(), set()).add(m.group(1))
        for run in field_runs:  # "phosphate-free", "fragrance free"
            negated.update(k for a, b in itertools.pairwise(run) if "free" in b.key for k in a.key)
        for measure, owner in _measure_owners(text, field_runs):
            owners.setdefault(measure, []).append(owner)
            if text == facts.title:
                title_owners.add(owner)
    pattern, _ = type_pattern()
    own_types = {w for m in pattern.finditer(facts.text()) for w in m.group(1).lower().split()}
    nouns = own_types | {w for w in re.findall(r"[^\W\d_]+", facts.title.lower()) if w not in _UNITS}
    title_runs = _runs(facts.title, brand, data=True)
    head_words = [t for t in (title_runs[0] if title_runs else []) if not t.figure and not t.unit]
    head = head_words[-1].key if head_words else frozenset()
    title_types = own_types & set(facts.title.lower().split())  # "keyboard" of "Mechanical Keyboard Compact"
    return _DataPhrases(
        runs=tuple(runs),
        nouns=frozenset(stem(f) for w in nouns for f in word_forms(fold(w).strip())),
        brand=brand,
        words=frozenset(k for run in runs for t in run.tokens for k in t.key),
        negated=frozenset(negated),
        owners={m: tuple(o) for m, o in owners.items()},
        title_owners=frozenset(title_owners),
        head=head,
        kinds=head | frozenset(stem(f) for w in title_types for f in word_forms(fold(w).strip())),
        title_measures=frozenset(m for run in title_runs if (m := _measure(run)) is not None),
        figure_clauses={figure: tuple(clauses) for figure, clauses in figure_clauses.items()},
        durations=frozenset(_task_durations(facts)),
        rates=frozenset(rates),
        parts=tuple(parts),
        done_in={place: frozenset(verbs) for place, verbs in done_in.items()},
    )


# Words that deny what follows: "without any salted caramel", "no plastic", "free from palm oil".
_NEGATION = re.compile(r"\b(?:without|no|zero|free from|free of)\s+(?:(?:any|added|the|a|an)\s+)?")


def _negated_runs(text: str, runs: list[list[_Token]]) -> list[list[_Token]]:
    """The runs that start right after a negation in `text` (the text `runs` were read from)."""
    starts = {m.end() for m in _NEGATION.finditer(normalise(text))}
    return [run for run in runs if run[0].start in starts]


def _measure(run: list[_Token] | tuple[_Token, ...]) -> _Measure | None:
    """The measure a run ends in ("60 g", "30 hours", "70 %"), in base units; None without one."""
    if len(run) < 2 or not run[-1].unit or not run[-2].figure:
        return None
    unit, value = next(iter(run[-1].key)), next(iter(run[-2].key))
    dimension, factor = lexicon.UNITS.get(unit, (unit, 1.0))
    try:
        return dimension, round(float(value) * factor, 6)
    except ValueError:
        return None


def _measure_owners(text: str, runs: list[list[_Token]]) -> list[tuple[_Measure, tuple[_Token, ...]]]:
    """What the text says each measure is of: the words before it in its run ("cocoa 70 %") and the
    run right after it, with nothing or "of" between ("100 g bar", "20 g of protein")."""
    found: list[tuple[_Measure, tuple[_Token, ...]]] = []
    text = normalise(text)
    for i, run in enumerate(runs):
        measure = _measure(run)
        if measure is None:
            continue
        if len(run) > 2:
            found.append((measure, tuple(run[:-2])))
        after = runs[i + 1] if i + 1 < len(runs) else None
        if after and text[run[-1].end : after[0].start].strip() in ("", "of"):
            found.append((measure, tuple(after)))
    return found


def _supported(run: list[_Token], data: _DataPhrases) -> bool:
    if any(_embeds(run, d.tokens) for d in data.runs):
        return True
    for cut in range(1, len(run)):
        head, tail = run[:cut], run[cut:]
        # "headphones weigh": the product's noun, then what the data says it does.
        if head[-1].key & data.nouns and _supported(head, data) and _supported(tail, data):
            return True
        # "olive green gilet", "citrus multi-surface cleaner": what the data says of the whole product,
        # then a phrase of the data that ends in one of the product's own nouns.
        if (
            run[-1].key & data.nouns
            and any(_embeds(tail, d.tokens) for d in data.runs)
            and any(d.names_product and _embeds(head, d.tokens) for d in data.runs)
        ):
            return True
    return False


def contradicted_phrases(text: str, index: FactIndex) -> list[str]:
    """The copy's negations of what the data states: "without any salted caramel" for a salted caramel
    bar. A word the data negates itself may be negated ("no phosphates" of a phosphate-free liquid)."""
    data = _data_phrases(index.facts)
    return _contradicted(text, _runs(text, data.brand), data)


def _contradicted(text: str, runs: list[list[_Token]], data: _DataPhrases) -> list[str]:
    found: list[str] = []
    norm = normalise(text)
    for run in _negated_runs(text, runs):
        if all(t.key & data.words and not t.key & data.negated for t in run if not t.figure):
            start = max(m.start() for m in _NEGATION.finditer(norm) if m.end() == run[0].start)
            phrase = text[start : run[-1].end]
            if phrase not in found:
                found.append(phrase)
    return found


def misattributed_measures(text: str, index: FactIndex) -> list[str]:
    """The copy's phrases that give a fact of the data to something it is not of:
    - "<measure> of <words>" and "<measure> <words>": "60g of chocolate" for a 60 g bar coated in
      chocolate, "3.5mm headphones" for headphones with a 3.5 mm jack. The data's own owners pass ("20 g
      of protein", "100 g bar"), and so does the product itself when the title holds the measure ("100 g
      of dark chocolate" for "Dark Chocolate 70% 100 g");
    - "<words> of/at/is <figure>": the words must share a clause of the data with the figure: "a capacity
      of up to 2 x AAA batteries" for a 180 kg scale on two AAA batteries, "belted at 9 inches" for a
      9-inch inseam;
    - "made of/from/with <words>" where the words are the data's colour, size or fit, and no material:
      "made of khaki"."""
    data = _data_phrases(index.facts)
    return _misattributed(text, _runs(text, data.brand), data)


# "<label> of <figure>": a label joined to a figure, perhaps with a bound ("a capacity of up to 180 kg").
_LABEL_LINK = re.compile(
    r"(?:of|at|is|are)(?:\s+(?:up to|about|around|over|under|nearly|almost|just|only|at least|less than|more than"
    r"|roughly|approximately))?"
)
# "made of <words>": what follows is a material, never a colour or a size.
_MADE_OF = re.compile(
    r"\b(?:made|crafted|knitted|knit|woven|produced|manufactured|built)(?: entirely| only| wholly| mainly)?"
    r" (?:from|of|out of|with|using)\s+"
)


def _misattributed(text: str, runs: list[list[_Token]], data: _DataPhrases) -> list[str]:
    norm = normalise(text)
    found = _measures_misattributed(text, norm, runs, data)
    found += [p for p in _labels_misattributed(text, norm, runs, data) if p not in found]
    # "in just 24 hours" of 24 hours of playback; "50g per day" of a 50 g jar
    found += [p for p in _unsaid(text, norm, _IN_DURATION, _duration, data.durations) if p not in found]
    found += [p for p in _unsaid(text, norm, _RATE, _rate, data.rates) if p not in found]
    found += [p for p in _materials_misattributed(text, norm, runs, data) if p not in found]
    return found + [p for p in _places_misattributed(text, norm, data) if p not in found]


# "roasted in the heart of Colombia" of beans from Colombia: the data's place is where the product comes
# from, not where anyone roasted, made or packed it ("grown in" and "from" paraphrase it and pass).
_DONE_IN = re.compile(
    r"\b(made|roasted|produced|manufactured|brewed|baked|packed|bottled|built|designed|assembled|milled|smoked"
    r"|distilled|printed|woven|knitted|knit|sewn|crafted|cooked|blended|pressed)\s+in\s+(?:the heart of\s+)?([^\W\d_]+)"
)


def _places_misattributed(text: str, norm: str, data: _DataPhrases) -> list[str]:
    """The copy's "<made> in <place of the data>" that the data does not say with that verb."""
    found: list[str] = []
    for m in _DONE_IN.finditer(norm):
        place = fold(m.group(2)).strip()
        if place not in data.words or m.group(1) in data.done_in.get(place, ()):
            continue  # a place beyond the data is the closed vocabulary's
        phrase = text[m.start() : m.end()]
        if phrase not in found:
            found.append(phrase)
    return found


def _unsaid(
    text: str, norm: str, pattern: re.Pattern[str], reading: Callable[[re.Match[str]], object], said: frozenset
) -> list[str]:
    """The copy's matches of `pattern` whose reading the data does not give (a time taken, a dose)."""
    return list(dict.fromkeys(text[m.start() : m.end()] for m in pattern.finditer(norm) if reading(m) not in said))


def _labels_misattributed(text: str, norm: str, runs: list[list[_Token]], data: _DataPhrases) -> list[str]:
    """The copy's "<data words> of/at/is <figure>" whose words share no clause of the data with the figure."""
    found: list[str] = []
    for label, figure in itertools.pairwise(runs):
        if not figure[0].figure or not _LABEL_LINK.fullmatch(norm[label[-1].end : figure[0].start].strip()):
            continue
        if any(t.figure or t.unit or not t.key & data.words for t in label) or label[-1].key & data.head:
            continue  # a word beyond the data is the closed vocabulary's; "a scale of 180 kg" the figure rules'
        clauses = data.figure_clauses.get(next(iter(figure[0].key)), ())
        if clauses and not any(all(t.key & words for t in label) for words in clauses):
            phrase = text[label[0].start : figure[0].end]
            if phrase not in found:
                found.append(phrase)
    return found


def _materials_misattributed(text: str, norm: str, runs: list[list[_Token]], data: _DataPhrases) -> list[str]:
    """The copy's "made of <words>" where the words are an attribute of the data that is no material
    (colour, size, fit) and nothing else the data says."""
    found: list[str] = []
    for made in _MADE_OF.finditer(norm):
        after = [run for run in runs if run[0].start >= made.end()]
        if after and _measure(after[0]) is not None and len(after[0]) == 2:
            # "made of 98% cotton", "made from 340 g of strawberry": a material follows the measure (the
            # measure rules judge the second); "made of 20 l –": a measure is no material
            rest = after[1:]
            if not rest or norm[after[0][-1].end : rest[0][0].start].strip() not in ("", "of"):
                phrase = text[made.start() : after[0][-1].end]
                if phrase not in found:
                    found.append(phrase)
                continue
            after = rest
        if not after or _CLAUSE_BREAK.search(norm[made.end() : after[0][0].start]):
            continue
        run = after[0]
        if any(t.figure or not t.key & data.words for t in run):
            continue
        holders = [d for d in data.runs if _embeds(run, d.tokens)]
        # the title, or an attribute that may be a material, holds them too: "made of cotton" for cotton shorts
        elsewhere = any(d.not_material is False or (d.not_material is None and d.names_product) for d in holders)
        if any(d.not_material for d in holders) and not elsewhere:
            phrase = text[made.start() : run[-1].end]
            if phrase not in found:
                found.append(phrase)
    return found


def _measures_misattributed(text: str, norm: str, runs: list[list[_Token]], data: _DataPhrases) -> list[str]:
    found: list[str] = []
    for run, after in itertools.pairwise(runs):
        measure = _measure(run)
        if (
            measure is None
            or measure not in data.owners
            or norm[run[-1].end : after[0].start].strip() not in ("", "of")
        ):
            continue
        # "400ml of coconut shittah": the data's words up to the first word beyond it; "8 hours of music":
        # none, and a word beyond the data is the closed vocabulary's to find
        after = list(itertools.takewhile(lambda t: bool(t.key & data.words), after))  # "2 m HDMI 2.1 cable"
        if not after:
            continue
        # the title's measure is the product's: "340 g of strawberry jam", not "340 g of strawberry"
        if any(
            _embeds(after, owner) and (owner not in data.title_owners or after[-1].key & owner[-1].key)
            for owner in data.owners[measure]
        ):
            continue
        if measure in data.title_measures and after[-1].key & data.head and _supported(after, data):
            continue
        phrase = text[run[-2].start : after[-1].end]
        if phrase not in found:
            found.append(phrase)
    return found


# "Switches are white": a copula puts its two sides together like a modifier ("white switches").
_COPULA = re.compile(r"\s+(?:is|are|was|were|(?:can|will|may) be)\s+")  # "the buckles can be adjustable"


def _copula_phrases(text: str, runs: list[list[_Token]], data: _DataPhrases) -> list[str]:
    """The copy's "<data words> is/are <data words>" whose sides the data never puts together."""
    norm = normalise(text)
    found: list[str] = []
    for subject, predicate in itertools.pairwise(runs):
        if not _COPULA.fullmatch(norm[subject[-1].end : predicate[0].start]):
            continue
        sides = [*subject, *predicate]
        if any(t.figure or t.unit or not t.key & data.words for t in sides):
            continue  # a measure is the figure rules'; a word beyond the data the closed vocabulary's
        if not (_supported([*predicate, *subject], data) or _supported(sides, data)):
            found.append(text[subject[0].start : predicate[-1].end])
    return found


# "The belt has two side pockets": what a part of the product has, the data must give it ("X with Y", "Y X").
_HAS = re.compile(r"\s+(?:has|have|had|features|feature|comes with|come with)\s+(?:(?:a|an|the|its|their)\s+)?")
_WITH = re.compile(r"\s+with\s+(?:(?:a|an|the|its|their)\s+)?")


def _with_pairs(text: str, runs: list[list[_Token]]) -> list[tuple[tuple[_Token, ...], tuple[_Token, ...]]]:
    """The data's "<words> with <words>" ("a lined hood with a drawcord"): what has what."""
    norm = normalise(text)
    return [(tuple(a), tuple(b)) for a, b in itertools.pairwise(runs) if _WITH.fullmatch(norm[a[-1].end : b[0].start])]


def _has_phrases(text: str, runs: list[list[_Token]], data: _DataPhrases) -> list[str]:
    """The copy's "<part> has <words>" where the part is not the product and the data never gives it
    those words: "The belt has two side pockets" of shorts with belt loops and side pockets, "The
    switches have a 75% mechanical keyboard" (a part never has the product)."""
    norm = normalise(text)
    found: list[str] = []
    for i, (owner, part) in enumerate(itertools.pairwise(runs)):
        if not _HAS.fullmatch(norm[owner[-1].end : part[0].start]):
            continue
        if any(t.figure or t.unit or not t.key & data.words for t in owner) or owner[-1].key & data.kinds:
            continue  # the product has what the data says; a word beyond the data is the closed vocabulary's
        following = runs[i + 2] if i + 2 < len(runs) else None
        if _measure(part) is not None and following and not norm[part[-1].end : following[0].start].strip():
            part = following  # "a 75% mechanical keyboard": what the measure is of
        words = [t for t in part if not t.figure and not t.unit]  # "two side pockets": the pockets
        if not words or any(not t.key & data.words for t in words):
            continue
        has_product = bool(words[-1].key & data.kinds)
        given = any(_embeds([*words, *owner], d.tokens) or _embeds([*owner, *words], d.tokens) for d in data.runs)
        given = given or any(_embeds(owner, a) and _embeds(words, b) for a, b in data.parts)
        if has_product or not given:
            phrase = text[owner[0].start : part[-1].end]
            if phrase not in found:
                found.append(phrase)
    return found


# "Shelled in a fleece": a verb that names a part ("lined", "shelled") puts a material on it, like "fleece
# shell" would.
_PART_VERBS = {"lined": "lining", "shelled": "shell", "soled": "sole", "insulated": "insulation", "padded": "padding"}
_PART_VERB = re.compile(r"\b(" + "|".join(_PART_VERBS) + r")\s+(?:in|with|by)\s+")


def _part_verb_phrases(text: str, runs: list[list[_Token]], data: _DataPhrases) -> list[str]:
    """The copy's "lined with / shelled in <data words>" whose words the data never puts on that part."""
    norm = normalise(text)
    found: list[str] = []
    for m in _PART_VERB.finditer(norm):
        run = next((r for r in runs if r[0].start >= m.end()), None)
        if run is None or _CLAUSE_BREAK.search(norm[m.end() : run[0].start]):
            continue
        if any(t.figure or t.unit or not t.key & data.words for t in run):
            continue  # "lined with joy": a word beyond the data is the closed vocabulary's
        noun = _PART_VERBS[m.group(1)]
        part = _Token(_stems(noun) | {noun}, False, False, m.start(), m.end())
        if not (_supported([*run, part], data) or _supported([part, *run], data)):
            found.append(text[m.start() : run[-1].end])
    return found


def unsupported_phrases(text: str, index: FactIndex) -> list[str]:
    """The copy's runs of two or more data words (as written) that no run of the data holds, and its
    "<data words> is/are <data words>" that no run holds either way round."""
    data = _data_phrases(index.facts)
    return _unsupported(text, _runs(text, data.brand), data)


def _unsupported(text: str, runs: list[list[_Token]], data: _DataPhrases) -> list[str]:
    found = _copula_phrases(text, runs, data) + _part_verb_phrases(text, runs, data)
    found += [p for p in _has_phrases(text, runs, data) if p not in found]
    for run in runs:
        if len(run) < 2 or (len(run) == 2 and run[-1].unit):
            continue  # a single word is the closed vocabulary's; a bare measure the figure rules'
        if not _supported(run, data):
            phrase = text[run[0].start : run[-1].end]
            if phrase not in found:
                found.append(phrase)
    return found


# What may stand around a figure that counts nothing by itself: a range or product of figures ("4 to 11",
# "33 x 33", "24/7"), a pack's count ("a pack of 4", "twelve to a box"), a size ("size 4", "UK 4"), a
# compound ("a two-way zip").
_RANGE_AFTER = re.compile(r"\s*(?:(?:-|–|to|by|and|or|/)\s*\d|[x×]\s|to an?\s)|-[^\W\d_]")
_RANGE_BEFORE = re.compile(
    r"(?:\d\s*(?:-|–|to|x|×|by|and|or|/)|\b(?:pack|set|box|pair|bundle|case|multipack)s? of|\b(?:size|sizes|uk|us|eu))"
    r"\s*$"
)


_ONE_WORD_GAP = re.compile(r"\s+[^\W\d_]+\s+")


def bare_figures(text: str, index: FactIndex) -> list[str]:
    """The copy's figures that count nothing: no unit and no word of the data after them, no range, pack
    or size around them ("choose from over 4, so choose wisely", "4+ daily"); and a figure right before
    another ("four 4-pack heads"). The data's own
    counts come with their noun ("6 eyelets", "2 zipped pockets"); a figure alone states a count, a year or
    a rating the reader cannot check."""
    data = _data_phrases(index.facts)
    return _bare(text, normalise(text), _runs(text, data.brand))


def _bare(text: str, norm: str, runs: list[list[_Token]]) -> list[str]:
    found: list[str] = []
    for run in runs:  # a figure right before another counts the other: "four 4-pack heads" are sixteen
        for i, (a, b) in enumerate(itertools.pairwise(run)):
            measure = i + 2 < len(run) and run[i + 2].unit  # "six 30 g bags": a count of measures
            if a.figure and b.figure and not measure and not norm[a.end : b.start].strip():
                found.append(text[a.start : b.end])
    for run in runs:
        if len(run) != 1 or not run[0].figure:
            continue
        figure = run[0]
        if _RANGE_AFTER.match(norm, figure.end) or _RANGE_BEFORE.search(norm[: figure.start]):
            continue
        # "four card slots": one plain word between the figure and the data's noun it counts
        after = next((r for r in runs if r[0].start >= figure.end), None)
        if after and not after[0].figure and _ONE_WORD_GAP.fullmatch(norm[figure.end : after[0].start]):
            continue
        phrase = text[figure.start : figure.end] + ("+" if norm.startswith("+", figure.end) else "")
        if phrase not in found:
            found.append(phrase)
    return found


def data_phrases_check(text: str, index: FactIndex) -> tuple[Finding, ...]:
    """One finding per phrase that puts the data's words together in a way the data does not, denies
    what the data states, gives a measure to the wrong thing, or leaves a figure counting nothing. The
    copy is read into runs once."""
    data = _data_phrases(index.facts)
    runs = _runs(text, data.brand)
    return (
        *(
            Finding(GROUNDING, "unsupported_phrase", f'unsupported phrase: "{p}" is not how the data puts it', p)
            for p in _unsupported(text, runs, data)
        ),
        *(
            Finding(GROUNDING, "contradicted_claim", f'contradicted claim: "{p}" denies what the product data says', p)
            for p in _contradicted(text, runs, data)
        ),
        *(
            Finding(GROUNDING, "misattributed_claim", f'misattributed claim: "{p}" is not what the data measures', p)
            for p in _misattributed(text, runs, data)
        ),
        *(
            Finding(GROUNDING, "bare_figure", f'figure counting nothing: "{p}" names nothing the data counts', p)
            for p in _bare(text, normalise(text), runs)
        ),
    )
