"""The recipe (indexes/recipe.py): written into each version's manifest, shown by /api/version, overridable."""

from __future__ import annotations

import json

import httpx
import pytest

from protokollsok.cli import main
from protokollsok.indexes.recipe import DEFAULT, Recipe
from protokollsok.indexes.store import Store


def test_every_version_writes_its_recipe_into_its_manifest(corpus_index):
    manifest = json.loads((Store(corpus_index).current().path / "manifest.json").read_text())
    assert manifest["recipe"] == DEFAULT.to_manifest()
    assert all(isinstance(v, (int, float, str)) for v in manifest["recipe"].values())
    assert Recipe.from_manifest(manifest) == DEFAULT


def test_a_version_older_than_recipes_ranks_by_the_defaults():
    assert Recipe.from_manifest({"format": 3}) == DEFAULT


def test_settings_override_query_time_fields():
    recipe = DEFAULT.with_settings(fusion="rrf", dense_weight=0.3, recipe='{"threshold": 0.5, "max_sources": 2}')
    assert (recipe.fusion, recipe.dense_weight, recipe.threshold, recipe.max_sources) == ("rrf", 0.3, 0.5, 2)
    assert DEFAULT.with_settings(fusion=None, dense_weight=None, recipe="") == DEFAULT


@pytest.mark.parametrize(
    "overrides, message",
    [
        ('{"treshold": 0.5}', "unknown field 'treshold'"),
        ('{"bm25_k1": 1.5}', "fixed when a version is built"),
        ('{"max_sources": "three"}', "'max_sources' must be a int"),
        ("threshold=0.5", "not JSON"),
        ('{"fusion": "sum"}', "fusion: 'sum' is not one of convex, rrf"),
    ],
)
def test_a_bad_override_names_the_field(overrides, message):
    with pytest.raises(ValueError, match=message):
        DEFAULT.with_settings(recipe=overrides)


def test_cli_refuses_a_bad_recipe_before_searching(corpus_index, monkeypatch, capsys):
    monkeypatch.setenv("PROTOKOLLSOK_RECIPE", '{"treshold": 0.5}')
    assert main(["search", "budget", "--index", str(corpus_index)]) == 2
    assert "PROTOKOLLSOK_RECIPE: unknown field 'treshold'" in capsys.readouterr().err


def test_api_version_shows_how_the_index_ranks(live_server):
    info = httpx.get(f"{live_server}/api/version", timeout=30).json()
    assert info["recipe"] == DEFAULT.to_manifest()
