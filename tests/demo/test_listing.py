"""The demo listing page (/demo/store/listing): which products it lists and what it tells the user."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from tests.experiments.catalog_helpers import approve_all_and_start, catalog_experiment, catalog_products

pytestmark = pytest.mark.django_db

URL = "/demo/store/listing"


@pytest.fixture
def running(marketer):
    return approve_all_and_start(catalog_experiment("tees", catalog_products(5), owner=marketer), marketer)


def test_lists_the_running_experiments_products_as_cards_with_slots(running, write_key):
    body = Client().get(URL, {"write_key": write_key[1]}).content.decode()
    for i in range(1, 6):
        assert f'data-product="TEE-00{i}"' in body
    assert body.count("data-copylift-slot") == 5
    assert 'data-experiment="tees"' in body and "Our organic cotton tee 3." in body  # fallback: current copy


def test_lists_skus_given_in_the_query(running, write_key):
    body = Client().get(URL, {"products": "TEE-002,TEE-004", "write_key": write_key[1]}).content.decode()
    assert 'data-product="TEE-002"' in body and 'data-product="TEE-004"' in body
    assert 'data-product="TEE-001"' not in body and "data-experiment=" not in body


@override_settings(DEBUG=False)
def test_unknown_experiment_is_404_and_nothing_running_explains(running):
    response = Client().get(URL, {"experiment": "nope"})
    assert response.status_code == 404 and "nope" in response.content.decode()
    assert "needs a write key" in Client().get(URL).content.decode()


def test_nothing_running_explains_what_to_do(db):
    response = Client().get(URL)
    assert response.status_code == 200 and "No experiment is running" in response.content.decode()


def test_the_product_page_of_a_catalog_experiment_sends_to_the_listing(running, write_key):
    response = Client().get("/demo/store/", {"experiment": "tees", "write_key": write_key[1]})
    assert response.status_code == 302
    assert response["Location"].startswith(URL + "?") and "experiment=tees" in response["Location"]
