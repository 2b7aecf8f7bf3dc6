"""The copy review page of one arm (/experiments/KEY/variants/VKEY/review): roles, filters, paging,
the review actions through their services, and service errors shown on the page (400/409, no 500)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from experiments import services
from experiments.models import Variant, VariantCopy, variant_key_for
from tests.conftest import page_client
from tests.experiments.catalog_helpers import FLAGGED_COPY, catalog_experiment, catalog_products

pytestmark = pytest.mark.django_db

URL = "/experiments/tees/variants/llm-l050/review"


def _status(sku: str) -> str:
    return VariantCopy.objects.get(variant__key="llm-l050", product__sku=sku).status


# --- Who may see and act ---


def test_anonymous_goes_to_login_and_users_without_a_role_are_refused(review_tees, outsider):
    response = Client().get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert page_client(outsider).get(URL).status_code == 403
    assert page_client(outsider).post(URL, {"action": "approve_passing"}).status_code == 403


def test_analyst_reads_every_row_but_gets_no_form_and_may_not_post(review_tees, analyst):
    client = page_client(analyst)
    page = client.get(URL)
    assert page.status_code == 200
    body = page.content.decode()
    for sku in ("TEE-001", "TEE-002", "TEE-006"):
        assert f'id="row-{sku}"' in body
    assert "approve-passing" not in body and 'name="action"' not in body
    assert "only Marketers and admins may change copy" in body
    assert client.post(URL, {"action": "approve_passing"}).status_code == 403
    assert _status("TEE-002") == "pending"


def test_unknown_experiment_or_arm_is_404(review_tees, marketer):
    client = page_client(marketer)
    assert client.get("/experiments/nope/variants/llm-l050/review").status_code == 404
    assert client.get("/experiments/tees/variants/nope/review").status_code == 404


# --- What a row shows ---


def test_row_shows_product_current_copy_chosen_copy_candidates_and_every_flag(review_tees, marketer):
    body = page_client(marketer).get(URL).content.decode()
    assert "Northwind organic cotton tee 1" in body and "Northwind" in body
    assert "Our organic cotton tee 1." in body  # the product's current copy
    assert FLAGGED_COPY in body
    assert "brand: copy uses the forbidden word &#x27;cheap&#x27;" in body
    assert "generation: none of the 8 candidates passed" in body  # the failed product's error
    assert "Breathable organic cotton tee 2 for everyday wear. Shop now." in body  # a runner-up
    assert "0.550" in body and "0.049" in body and "0.41" in body and "0.69" in body  # its scores
    counts = body[body.index('id="review-counts"') :]
    assert "<strong>0</strong>approved" in counts and "<strong>5</strong>pending" in counts
    assert "<strong>1</strong>failed" in counts


def test_sentences_the_guards_cut_are_shown_with_the_chosen_copy_and_the_runner_ups(review_tees, marketer):
    row = VariantCopy.objects.get(variant__key="llm-l050", product__sku="TEE-002")
    chosen, runner_up = row.candidates
    row.candidates = [
        {**chosen, "cuts": ['cut "Ships free this week." (not publishable: an offer the shop did not make)']},
        {**runner_up, "cuts": ['cut "Made of silk." (unsupported claim: "silk")']},
    ]
    row.save(update_fields=["candidates"])
    body = page_client(marketer).get(URL).content.decode()
    section = body[body.index('id="row-TEE-002"') : body.index('id="row-TEE-003"')]
    assert "edited: cut &quot;Ships free this week.&quot; (not publishable" in section
    assert "edited: cut &quot;Made of silk.&quot; (unsupported claim" in section
    other = body[body.index('id="row-TEE-003"') :]
    assert "edited:" not in other.split('id="row-TEE-004"')[0]


def test_filters_flagged_awaiting_review_and_brand(review_tees, marketer):
    client = page_client(marketer)
    flagged = client.get(URL, {"flagged": "1"}).content.decode()
    assert 'id="row-TEE-001"' in flagged and 'id="row-TEE-004"' in flagged
    assert 'id="row-TEE-002"' not in flagged
    by_brand = client.get(URL, {"brand": "Loomly"}).content.decode()
    assert [s for s in ("TEE-002", "TEE-004", "TEE-006") if f'id="row-{s}"' in by_brand] == [
        "TEE-002",
        "TEE-004",
        "TEE-006",
    ]
    assert 'id="row-TEE-001"' not in by_brand
    client.post(URL, {"action": "approve", "sku": "TEE-002", "copy": _copy("TEE-002")})
    todo = client.get(URL, {"todo": "1"}).content.decode()
    assert 'id="row-TEE-002"' not in todo and 'id="row-TEE-003"' in todo and 'id="row-TEE-004"' in todo


def _copy(sku: str) -> str:
    return VariantCopy.objects.get(variant__key="llm-l050", product__sku=sku).copy


def test_pages_of_fifty_and_no_query_per_row(marketer):
    products = catalog_products(120, prefix="BIG")
    catalog_experiment("big", products, owner=marketer)
    client = page_client(marketer)
    url = "/experiments/big/variants/llm-l050/review"
    client.get(url)  # warm the session and the user's groups
    with CaptureQueriesContext(connection) as first:
        page1 = client.get(url)
    with CaptureQueriesContext(connection) as last:
        page3 = client.get(url, {"page": "3"})
    assert 'id="row-BIG-001"' in page1.content.decode() and 'id="row-BIG-051"' not in page1.content.decode()
    assert 'id="row-BIG-101"' in page3.content.decode() and "page 3 of 3" in page3.content.decode()
    assert len(first) == len(last) <= 12, [q["sql"] for q in first.captured_queries]
    # a garbage page number is the last or first page, never a 500
    assert client.get(url, {"page": "999"}).status_code == 200
    assert client.get(url, {"page": "x"}).status_code == 200


# --- Actions ---


def test_approve_all_that_pass_skips_flagged_and_failed(review_tees, marketer):
    client = page_client(marketer)
    response = client.post(URL + "?flagged=", {"action": "approve_passing"})
    assert response.status_code == 302 and response["Location"] == URL + "?flagged="
    assert [_status(f"TEE-00{i}") for i in range(1, 7)] == [
        "pending",
        "approved",
        "approved",
        "failed",
        "approved",
        "approved",
    ]
    page = client.get(response["Location"]).content.decode()
    assert "Approved 4 copies that pass every check." in page


def test_edit_then_approve_one_and_pick_a_runner_up(review_tees, marketer):
    client = page_client(marketer)
    edited = "Organic cotton tee 1, soft and breathable for everyday wear. Shop now."
    crlf = edited.replace(" Shop", "\r\n Shop")  # how browsers send a textarea's line breaks
    assert client.post(URL, {"action": "save", "sku": "TEE-001", "copy": crlf}).status_code == 302
    row = VariantCopy.objects.get(variant__key="llm-l050", product__sku="TEE-001")
    assert row.copy == edited.replace(" Shop", "\n Shop") and row.flags == [] and row.status == "pending"
    assert client.post(URL, {"action": "approve", "sku": "TEE-001", "copy": edited}).status_code == 302
    row.refresh_from_db()
    assert row.status == "approved" and row.copy == edited and row.reviewed_by == marketer

    runner_up = "Breathable organic cotton tee 3 for everyday wear. Shop now."
    assert client.post(URL, {"action": "save", "sku": "TEE-003", "copy": runner_up}).status_code == 302
    assert _copy("TEE-003") == runner_up
    body = client.get(URL).content.decode()
    assert "TEE-003: saved." in body


def test_reject_one(review_tees, marketer):
    assert page_client(marketer).post(URL, {"action": "reject", "sku": "TEE-005"}).status_code == 302
    assert _status("TEE-005") == "rejected"


def test_approving_flagged_copy_is_refused_on_the_page_with_the_reason(review_tees, marketer):
    response = page_client(marketer).post(URL, {"action": "approve", "sku": "TEE-001", "copy": FLAGGED_COPY})
    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="review-error"' in body and "cannot approve copy with problems" in body and "cheap" in body
    assert _status("TEE-001") == "pending"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"action": "approve", "sku": "NOPE-1", "copy": "x"}, "NOPE-1: not a product of experiment"),
        ({"action": "approve", "copy": "x"}, "sku: which product"),
        ({"action": "explode", "sku": "TEE-002"}, "action: one of"),
        ({"action": "approve", "sku": "TEE-004", "copy": ""}, "TEE-004: cannot approve"),
    ],
)
def test_bad_input_is_400_on_the_page(review_tees, marketer, data, expected):
    response = page_client(marketer).post(URL, data)
    assert response.status_code == 400
    assert expected in response.content.decode()


def test_started_experiment_is_read_only_and_actions_are_409(review_tees, marketer):
    review_tees.control_fallback = True
    review_tees.save(update_fields=["control_fallback"])
    client = page_client(marketer)
    client.post(URL, {"action": "approve_passing"})
    services.experiment_start(experiment=review_tees, user=marketer)
    page = client.get(URL).content.decode()
    assert 'id="review-frozen"' in page and "approve-passing" not in page and 'name="copy"' not in page
    for data in ({"action": "approve_passing"}, {"action": "reject", "sku": "TEE-002"}):
        response = client.post(URL, data)
        assert response.status_code == 409, data
        assert "frozen" in response.content.decode()
    assert _status("TEE-002") == "approved"


def test_variant_key_and_which_arms_may_be_regenerated(review_tees):
    assert variant_key_for(0.6) == "llm-l060"
    assert variant_key_for(0.05) == "llm-l005"
    assert variant_key_for(1.0) == "llm-l100"
    arms = {v.key: v.regenerable for v in Variant.objects.filter(experiment=review_tees)}
    assert arms == {"control": False, "llm-l050": True}
    assert not Variant(key="llm-l050", lambda_value=0.6).regenerable  # named after another λ
    assert not Variant(key="hand", lambda_value=None).regenerable


def test_regenerate_button_posts_to_the_generator_keeping_filters_and_page(review_tees, marketer):
    body = page_client(marketer).get(URL, {"flagged": "1"}).content.decode()
    assert 'action="/experiments/tees/variants/llm-l050/regenerate?flagged=1"' in body
    control = page_client(marketer).get("/experiments/tees/variants/control/review").content.decode()
    assert "/regenerate" not in control
