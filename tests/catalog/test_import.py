"""Catalog import: the demo catalog and a user's CSV with bad rows."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from catalog.models import BrandGuideline, Category, Product
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
        + "BAD-1,T,B,Toys,oops,D,{}\n"
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
        "line 4: price: 'oops' is not a number",
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
    assert not Category.objects.filter(name="Toys").exists()  # a rejected row creates no category


def test_import_takes_the_live_copy_and_creates_new_categories_at_the_default_lambda(tmp_path, settings):
    settings.COPYLIFT_DEFAULT_LAMBDA = 0.45
    Product.objects.create(sku="KEEP-1", title="Old", brand="B", category_id=1, price=1, copy="Live copy kept")
    path = tmp_path / "catalog.csv"
    path.write_text(
        "sku,title,brand,category,price,description,attributes,copy\n"
        "TOY-1,Wooden train,Tinker,Toys,19,A wooden train set.,{},Roll into playtime. Shop now.\n"
        "TOY-2,Puzzle,Tinker,toys,9,A 100-piece puzzle.,{},\n"
        "KEEP-1,Old,B,FMCG,1,New description,{},\n",
        encoding="utf-8",
    )
    out = StringIO()
    call_command("import_products", str(path), stdout=out)
    toys = Category.objects.get(name="Toys")
    assert toys.recommended_lambda == 0.45 and toys.keywords == []
    assert "new category Toys (default λ 0.45" in out.getvalue()
    assert Product.objects.get(sku="TOY-1").copy == "Roll into playtime. Shop now."
    assert Product.objects.get(sku="TOY-2").copy == "A 100-piece puzzle."  # no copy: the description
    assert Product.objects.get(sku="TOY-2").category == toys  # matched case-insensitively, created once
    assert Product.objects.get(sku="KEEP-1").copy == "Live copy kept"  # an empty cell changes nothing


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
