"""Query expansion from a synonym list: the words people type, beside the words the records use.

The list (indexes/data/synonyms.txt, or PROTOKOLLSOK_SYNONYMS) holds groups in the Solr synonym format. A
one-word member matches when its stem is among the query's tokens, compound parts included, so
`friskvårdsbidraget` matches `friskvårdsbidrag`; a member of several words matches when the query holds
their stems in that order (`säger upp sig` matches `säga upp sig`). The other members of a matched group
are returned as extra tokens, which search weighs below the words typed. Only the query is expanded, so
editing the list needs no re-index.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .analyzer import Analyzer

DEFAULT = Path(__file__).parent / "data" / "synonyms.txt"
DERIVATIONS = Path(__file__).parent / "data" / "derivations.txt"


class SynonymsError(ValueError):
    pass


@dataclass(frozen=True)
class _Member:
    stems: tuple[str, ...]
    tokens: tuple[str, ...]


class Synonyms:
    def __init__(self, path: Path, groups: list[list[_Member]], analyzer: Analyzer):
        self.path = path
        self.groups = groups
        self.analyzer = analyzer

    @classmethod
    def load(cls, path: Path, analyzer: Analyzer) -> "Synonyms":
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise SynonymsError(f"{path}: cannot read the synonym list ({error}); fix PROTOKOLLSOK_SYNONYMS") from error
        groups = []
        for number, line in enumerate(lines, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            members = [m.strip() for m in line.split(",") if m.strip()]
            if len(members) < 2 or "=>" in line:
                raise SynonymsError(
                    f"{path}:{number}: a group needs two or more comma-separated members "
                    f"(one-way '=>' rules are not supported): {line!r}"
                )
            parsed = [_Member(analyzer.stems(m), tuple(analyzer.tokens(m))) for m in members]
            empty = [m for m, p in zip(members, parsed) if not p.tokens]
            if empty:
                raise SynonymsError(f"{path}:{number}: '{empty[0]}' is only stopwords or too short to match anything")
            groups.append(parsed)
        return cls(path, groups, analyzer)

    def expand(self, query: str, tokens: list[str]) -> list[str]:
        """Tokens of the members of every group the query matches, less the tokens it already has."""
        have = set(tokens)
        extra: dict[str, None] = {}
        for _, group in self.matches(query, tokens):
            extra.update(dict.fromkeys(t for t in group if t not in have))
        return list(extra)

    def matches(self, query: str, tokens: list[str]) -> list[tuple[frozenset[str], frozenset[str]]]:
        """For each group the query matches: the query's tokens that matched it, and all the group's tokens."""
        have = set(tokens)
        stems = self.analyzer.stems(query)
        found = []
        for group in self.groups:
            matched = [member for member in group if _matches(member, have, stems)]
            if matched:
                typed = frozenset(t for member in matched for t in member.tokens if t in have)
                found.append((typed, frozenset(t for member in group for t in member.tokens)))
        return found


def _matches(member: _Member, tokens: set[str], stems: tuple[str, ...]) -> bool:
    if len(member.stems) == 1:
        return member.stems[0] in tokens
    n = len(member.stems)
    return any(stems[i : i + n] == member.stems for i in range(len(stems) - n + 1))
