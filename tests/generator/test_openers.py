"""Openers: the first words of the answer name the product; sizes and packs are left out."""

from __future__ import annotations

import pytest

from generator.openers import FREE_FROM_LAMBDA, opener_for, short_name


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("Barista Oat Drink 1 L", "Barista Oat Drink"),
        ("Sour Cream & Chive Chickpea Puffs 4 x 25 g", "Sour Cream & Chive Chickpea Puffs"),
        ("Organic Baby Bodysuit 3-Pack", "Organic Baby Bodysuit"),
        ("Lime Sparkling Water 12 x 330 ml", "Lime Sparkling Water"),
        ("Wi-Fi 6 Dual-Band Router", "Wi-Fi 6 Dual-Band Router"),  # a standard's version is not a size
        ("Fresh Mint Fluoride Toothpaste Twin Pack", "Fresh Mint Fluoride Toothpaste"),
    ],
)
def test_short_name_drops_sizes_and_packs(title, name):
    assert short_name(title) == name


def test_openers_rotate_and_leave_creative_candidates_free():
    plain = [opener_for(title="Ribbed Merino Beanie", brand="Tidewell", index=i, lam=0.3) for i in range(6)]
    assert len(set(plain)) == 6 and all("Ribbed Merino Beanie" in o for o in plain)
    assert "Tidewell's Ribbed Merino Beanie" in plain
    bold = [opener_for(title="Ribbed Merino Beanie", brand="Tidewell", index=i, lam=FREE_FROM_LAMBDA) for i in range(4)]
    assert bold[1] == bold[3] == "" and bold[0] and bold[2]
    unbranded = {opener_for(title="Beanie", brand="", index=i, lam=0.3) for i in range(10)}
    assert not any("'s" in o for o in unbranded)
