"""How an index version ranks and when an answer is given: every such constant, once, with what measured it.

A version writes its recipe into `manifest.json` (`"recipe"`, one number or name per field), so an index
can say how it ranks; `/api/version` shows it. At query time the version's recipe is read back and the
query-time fields may be overridden by settings (`PROTOKOLLSOK_FUSION`, `PROTOKOLLSOK_DENSE_WEIGHT`,
`PROTOKOLLSOK_RECIPE`). BM25's k1 and b are fixed when a version is built (its scores are precomputed), so
they can only change with a new ingest. The figures quoted are `protokollsok eval` on eval/dev.jsonl
(with eval/unanswerable.jsonl for abstention) and were checked on eval/heldout.jsonl.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace

FUSIONS = ("convex", "rrf")
BUILD_FIELDS = ("bm25_k1", "bm25_b")


@dataclass(frozen=True)
class Recipe:
    bm25_k1: float = 1.2
    """BM25 term-frequency saturation, Lucene's default (lexical.py; not tuned on dev)."""
    bm25_b: float = 0.6
    """BM25 length normalisation, below Lucene's 0.75: §§ run from two lines to two pages (lexical.py)."""
    candidates: int = 100
    """How many candidates each ranker proposes to the fusion (search.py; BM25's top 100 is exact)."""
    fusion: str = "convex"
    """`convex` mixes min-max-normalised scores; `rrf` (reciprocal rank fusion) was worse on dev (GUIDE §5)."""
    dense_weight: float = 0.5
    """Share of the dense ranker in the mix (search.py; GUIDE §5: lexical alone r@5/MRR 0.82/0.65). With true
    min-max scaling (2026-12; before, cosines kept a sixth of this weight) dev hybrid r@5/MRR at 0.2 / 0.3 /
    0.4 / 0.5 was 0.875/0.738, 0.866/0.750, 0.875/0.761, 0.893/0.762, held-out 0.825/0.716, 0.875/0.707,
    0.875/0.700, 0.875/0.718: 0.5 kept."""
    rrf_k: int = 60
    """Reciprocal rank fusion's constant (Cormack, Clarke & Büttcher 2009), used when fusion is `rrf`."""
    synonym_weight: float = 0.5
    """Weight of a synonym-list word beside a word typed (1.0), so the words typed stay the topic."""
    opening_lead: float = 0.5
    """Lead of the opening chunk of a case or § the query names; with the leads below derived on dev and
    checked on held-out (search.py: a flat optimum at ×0.75–1 of these leads)."""
    kommun_lead: float = 0.5
    """Lead of chunks of a kommun the query names: a soft filter, since a question may compare kommuner."""
    answer_kind_lead: float = 0.2
    """Lead of chunks holding the kind of answer asked for (a sum for `hur mycket`, a date for `när`)."""
    ef_search: int = 2048
    """FAISS HNSW search breadth for a version over 50,000 chunks: recall@10 against exact search 0.993 at
    1 M and 0.982 at 2 M with float16 re-scoring, p95 9.5 / 16.1 ms (bench/vectors.py, vectors.py). A
    searcher opens its version's vectors with this (Version.open(recipe))."""
    pg_ef_search: int = 200
    """pgvector HNSW search breadth on PostgreSQL, named apart from `ef_search` on purpose: a different
    graph (halfvec, pgvector's defaults), set on each session a searcher opens (the version's or the
    override) and on each shard database when a version is published (postgres_fdw sessions read only
    that); eval on dev gives the same recall and MRR on both backends (bench/backends.py)."""
    answer_candidates: int = 10
    """Hits `ask` reads for support: the gold passage is in search's top 10 for 0.92 of dev questions."""
    max_sources: int = 3
    """Most sources an answer cites."""
    max_words: int = 60
    """Longest extract, in words."""
    threshold: float = 0.45
    """Evidence strength from which `ask` answers. 5-fold cross-validation on eval/dev.jsonl with
    eval/unanswerable.jsonl (`eval --ask`: the threshold where the lower of answered-with-evidence and
    unanswerable-abstained is highest, over each question's replayed candidates) chose 0.45 in every fold once
    evidence read whole units (`unit_share`); the whole `ask` gave 0.732 / 0.742 there, 0.750 / 0.613 at 0.40."""
    possible_threshold: float = 0.25
    """Evidence strength from which `ask` shows its best passage as a possible answer to check."""
    case_match_share: float = 0.75
    """Term coverage granted to a passage of the case or § the question names by Dnr or number."""
    unit_share: float = 0.5
    """Share of term coverage read over the passage's whole unit (its § or memo section) rather than the passage:
    the words of a question are spread over the § whose one chunk answers it. At threshold 0.45, 0 → 0.5 moved
    dev answered with gold evidence / abstained 0.688 / 0.774 → 0.732 / 0.742 and held-out 0.500 → 0.550; 1.0
    (the unit alone) answers near misses, whose § holds the topic but not the detail asked (dev 0.750 / 0.613)."""
    frame_weight: float = 0.25
    """Share of its rarity weight a question's frame word (`ska`, `fick`, `nya`; analyzer.frame) keeps in term
    coverage: a record answers `Vad ska börja gälla …` without the word `ska`."""
    kind_missing: float = 0.5
    """Strength kept when the passage lacks the kind of answer asked for (an amount, a date …)."""
    year_missing: float = 0.3
    """Strength kept when the passage, its record's date and title lack a year the question names: among the
    surest signs of a near miss (a 2019 ranking asked, 2022–2023 written). 0.5 → 0.3 moved dev abstention
    0.629 → 0.694 and answered-with-evidence 0.688 → 0.679 (held-out 0.500 → 0.525)."""
    kommun_missing: float = 0.3
    """Strength kept when the passage is not of the kommun the question names as acting."""
    organ_missing: float = 0.3
    """Strength kept when the organ the question asks to have decided is not seen deciding."""
    period_missing: float = 0.5
    """Strength kept when a whole year is asked for and the passage speaks of part of one."""
    outcome_missing: float = 0.5
    """Strength kept when an outcome is asked for and the passage only forecasts or plans."""
    open_missing: float = 0.3
    """Strength kept when the passage leaves open the `vilken …` the question asks (`utreda vilken stad`)."""
    decision_missing: float = 0.3
    """Strength kept when a decision taken is asked for and the passage only proposes one."""
    extract_kind_bonus: float = 0.3
    """Lead of a sentence holding the kind of answer asked for, when the extract is chosen within a passage."""
    extract_decision_bonus: float = 0.3
    """Lead of a sentence that states a decision or proposal, when a question asks about a decision."""
    reader_candidates: int = 20
    """How many of the fused ranking's top a site's reader (`PROTOKOLLSOK_READER`, rerank.py) re-scores: twice
    `answer_candidates`, so it can lift a passage from below what `ask` reads. The reader fields are not
    measured here, since no reader helped on dev (issue 20: a cross-encoder trained from e5 separated answers
    from near misses at an AUC of 0.40–0.54); a site measures its own with `eval --ask` (README)."""
    reader_weight: float = 0.5
    """Share of the reader's score in the rerank of those candidates, both min-max normalised over them as in
    convex fusion; the fused score has the rest. Half and half until a site's eval says otherwise."""
    reader_threshold: float = 0.5
    """Reader score (its sigmoid, 0–1) under which the `reader` check fails: where a cross-encoder trained on
    relevant / not relevant pairs puts the boundary."""
    reader_missing: float = 0.5
    """Strength kept when the reader scores a passage under `reader_threshold`."""
    judge_missing: float = 0.5
    """Strength kept when the judge (`PROTOKOLLSOK_JUDGE`, service/judge.py) says the best unit does not
    answer, or quotes words the unit does not hold; the strength is also kept under the threshold of the level
    it had, so such a verdict always lowers the level by at least one step."""

    def __post_init__(self):
        if self.fusion not in FUSIONS:
            raise ValueError(f"fusion: '{self.fusion}' is not one of {', '.join(FUSIONS)}")
        if not 0.0 <= self.dense_weight <= 1.0:
            raise ValueError(f"dense_weight: {self.dense_weight} is not between 0 and 1")
        if not 0.0 <= self.reader_weight <= 1.0:
            raise ValueError(f"reader_weight: {self.reader_weight} is not between 0 and 1")

    def to_manifest(self) -> dict:
        return asdict(self)

    @classmethod
    def from_manifest(cls, manifest: dict) -> "Recipe":
        """The recipe a version was built with; a version older than recipes ranks by today's defaults."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (manifest.get("recipe") or {}).items() if k in known})

    def with_settings(self, fusion: str | None = None, dense_weight: float | None = None, recipe: str = "") -> "Recipe":
        """This recipe with an administrator's overrides: `recipe` is a JSON object of query-time fields."""
        changes: dict = {}
        if recipe.strip():
            try:
                changes = json.loads(recipe)
            except json.JSONDecodeError as error:
                raise ValueError(f"PROTOKOLLSOK_RECIPE: not JSON ({error}); write e.g. {{\"threshold\": 0.5}}") from None
            if not isinstance(changes, dict):
                raise ValueError("PROTOKOLLSOK_RECIPE: write a JSON object, e.g. {\"threshold\": 0.5}")
            types = {f.name: type(getattr(self, f.name)) for f in fields(self)}
            for name, value in changes.items():
                if name not in types:
                    raise ValueError(f"PROTOKOLLSOK_RECIPE: unknown field '{name}'; the fields are {', '.join(types)}")
                if name in BUILD_FIELDS:
                    raise ValueError(f"PROTOKOLLSOK_RECIPE: '{name}' is fixed when a version is built; re-ingest to change it")
                if types[name] is float and isinstance(value, int) and not isinstance(value, bool):
                    value = float(value)
                if type(value) is not types[name]:
                    raise ValueError(f"PROTOKOLLSOK_RECIPE: '{name}' must be a {types[name].__name__}, not {value!r}")
                changes[name] = value
        if fusion is not None:
            changes["fusion"] = fusion
        if dense_weight is not None:
            changes["dense_weight"] = dense_weight
        return replace(self, **changes)


DEFAULT = Recipe()
