"""The recipe (indexes/recipe.py): written into each version's manifest, shown by /api/version, overridable."""

from __future__ import annotations

import dataclasses
import json

import httpx
import pytest

from protokollsok.cli import main
from protokollsok.indexes.recipe import DEFAULT, Recipe
from protokollsok.indexes.store import Store
from protokollsok.service.query import Queries


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


def test_the_vector_search_breadth_is_the_versions_or_the_administrators(corpus_index, embedder, analyzer):
    """ef_search is a query-time field like the others: the version's recipe sets it, PROTOKOLLSOK_RECIPE
    overrides it; it was once read from the defaults whatever the version said."""
    version = Store(corpus_index).current()
    assert version.open().vectors.ef_search == DEFAULT.ef_search
    wider = dataclasses.replace(version, manifest={**version.manifest, "recipe": {"ef_search": 512}})
    reader = wider.open()
    try:
        assert reader.vectors.ef_search == 512
    finally:
        reader.close()
    queries = Queries.open(version, embedder, analyzer, None, {"recipe": '{"ef_search": 333}'})
    try:
        assert queries.searcher.reader.vectors.ef_search == 333
    finally:
        queries.searcher.close()
