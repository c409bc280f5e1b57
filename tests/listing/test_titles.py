"""Titles in a catalog's own style, learned from a handful of real-looking titles."""

from __future__ import annotations

import pytest

from furima.listing import TitleStyle, token_f1

TITLES = [
    "Puma Men Black Running Shoes",
    "Nike Men White Running Shoes",
    "ADIDAS Women Blue Running Shoes",
    "Puma Men Printed Grey T-shirt",
    "Nike Women Slim Fit Black T-shirt",
    "Roadster Men Printed Blue T-shirt",
]
FIELDS = {
    "brand": ["Puma", "Nike", "ADIDAS", "Puma", "Nike", "Roadster"],
    "gender": ["Men", "Men", "Women", "Men", "Women", "Men"],
    "base_colour": ["Black", "White", "Blue", "Grey", "Black", "Blue"],
    "article_type": ["Sports Shoes"] * 3 + ["Tshirts"] * 3,
}


@pytest.fixture
def style() -> TitleStyle:
    return TitleStyle().fit(TITLES, FIELDS, "article_type")


def test_learns_the_slot_order_and_each_types_noun(style: TitleStyle) -> None:
    assert style.order_ == ["brand", "gender", "_descriptors", "base_colour", "_noun"]
    assert style.nouns_ == {"Sports Shoes": "Running Shoes", "Tshirts": "T-shirt"}


def test_composes_in_order_with_descriptors_shared_by_similar_titles(style: TitleStyle) -> None:
    values = {"brand": "Puma", "gender": "Women", "base_colour": "Red", "article_type": "Tshirts"}
    neighbours = ["Roadster Men Printed Blue T-shirt", "Puma Men Printed Grey T-shirt"]
    assert style.compose(values, neighbours) == "Puma Women Printed Red T-shirt"


def test_words_naming_other_values_never_become_descriptors(style: TitleStyle) -> None:
    values = {"gender": "Men", "article_type": "Sports Shoes"}
    neighbours = ["Nike Women White Running Shoes", "ADIDAS Women Blue Running Shoes"]
    assert style.compose(values, neighbours) == "Men Running Shoes"
    kids = TitleStyle().fit(
        ["Doodle Girls Pink Top", "Doodle Boys Blue Top", "Gini Girls Red Top"],
        {"gender": ["Girls", "Boys", "Girls"], "kind": ["Tops"] * 3},
        "kind",
    )
    neighbours = ["Doodle Girl's Printed Pink Top", "Gini Girl's Printed Red Top"]
    # colours are no field here, so they are descriptors; the possessive gender is not
    assert (
        kids.compose({"gender": "Boys", "kind": "Tops"}, neighbours) == "Boys Printed Pink Red Top"
    )


def test_missing_values_are_left_out_and_the_state_round_trips(style: TitleStyle) -> None:
    values = {"brand": None, "gender": float("nan"), "article_type": "Tshirts"}
    again = TitleStyle.from_state(style.get_state())
    assert again.compose(values) == style.compose(values) == "T-shirt"


def test_token_f1() -> None:
    assert token_f1("Puma Men Black Shoes", "puma men black shoes") == 1.0
    assert token_f1("Puma Shoes", "Nike Shirt") == 0.0
    assert token_f1("Puma Men Shoes", "Puma Men Black Running Shoes") == pytest.approx(0.75)
