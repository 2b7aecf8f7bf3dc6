"""Catalog import: the demo catalog and a user's CSV with bad rows."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from catalog.models import BrandGuideline, Product
from catalog.rules import check_copy
from catalog.services import DEMO_CATALOG, DEMO_GUIDELINES, guidelines_import, products_import_csv

pytestmark = pytest.mark.django_db

HEADER = "sku,title,brand,category,price,description,attributes\n"


def test_demo_catalog_loads_sixty_products_twenty_per_category():
    report = products_import_csv(path=DEMO_CATALOG)
    assert report.errors == [] and report.created == 60
    for category in ("FMCG", "Apparel", "Electronics"):
        assert Product.objects.filter(category__name=category).count() == 20
    assert products_import_csv(path=DEMO_CATALOG).updated == 60  # idempotent: updates, no duplicates
    assert Product.objects.count() == 60


def test_demo_control_copy_passes_its_brand_guideline():
    guidelines_import(path=DEMO_GUIDELINES)
    products_import_csv(path=DEMO_CATALOG)
    assert set(Product.objects.values_list("brand", flat=True)) <= set(
        BrandGuideline.objects.values_list("brand", flat=True)
    )
    failing = {p.sku: check_copy(p.description, p.guideline.as_rules()).violations for p in Product.objects.all()}
    assert {sku: v for sku, v in failing.items() if v} == {}


def test_import_reports_bad_rows_by_line_and_loads_the_rest(tmp_path):
    Product.objects.create(sku="KEEP-1", title="Old title", brand="B", category_id=1, price=1)
    path = tmp_path / "catalog.csv"
    path.write_text(
        HEADER
        + 'KEEP-1,New title,B,FMCG,2.50,Updated,"{""size"": ""1 l""}"\n'
        + "NEW-1,Fresh,B,fmcg,3,Desc,\n"
        + "BAD-1,T,B,Toys,3,D,{}\n"
        + "BAD-2,T,B,FMCG,abc,D,{}\n"
        + 'BAD-3,T,B,FMCG,1,D,"[1, 2]"\n'
        + "BAD-4,T,B,FMCG,1,D,{oops\n"
        + ",T,B,FMCG,1,D,{}\n"
        + "NEW-1,Again,B,FMCG,3,D,{}\n"
        + "BAD-5,T,B,FMCG,-1,D,{}\n",
        encoding="utf-8",
    )
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="7 row"):
        call_command("import_products", str(path), stdout=out, stderr=err)
    assert "1 created, 1 updated, 7 rejected" in out.getvalue()
    lines = err.getvalue().splitlines()
    assert lines == [
        "line 4: category: unknown 'Toys' (known: Apparel, Electronics, FMCG)",
        "line 5: price: 'abc' is not a number",
        "line 6: attributes: must be a JSON object",
        "line 7: attributes: not valid JSON (Expecting property name enclosed in double quotes)",
        "line 8: sku: required",
        "line 9: sku: 'NEW-1' repeats line 3",
        "line 10: price: -1 must be between 0 and 99,999,999.99",
    ]
    kept = Product.objects.get(sku="KEEP-1")
    assert kept.title == "New title" and kept.attributes == {"size": "1 l"}
    assert Product.objects.get(sku="NEW-1").category.name == "FMCG"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("sku,title\nA,B\n", "missing: brand, category, price, description, attributes"),
        (b"\xff\xfe\x00bad", "not a UTF-8 CSV"),
    ],
)
def test_import_whole_file_errors_exit_non_zero(tmp_path, content, message):
    path = tmp_path / "c.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(CommandError, match=message):
        call_command("import_products", str(path), stdout=StringIO(), stderr=StringIO())
