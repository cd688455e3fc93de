"""Why a file could not be ingested, said so that an administrator knows what to do."""

from __future__ import annotations

from pathlib import Path


class IngestError(Exception):
    def __init__(self, path: Path | str, problem: str, remedy: str):
        self.path = str(path)
        self.problem = problem
        self.remedy = remedy
        super().__init__(f"{self.path}: {problem}. {remedy}")
