"""Token counts that bound chunks: cl100k (the budget answers are composed in) and the embedding model's own.

Swedish costs the English MiniLM WordPiece vocabulary more tokens than cl100k (GUIDE §3: 1.08×, p95
1.135×), so a chunk is bounded in both; the model's count decides whether it reads the whole chunk.
The cl100k BPE file ships with the package: tiktoken would otherwise download it on first use.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import tiktoken
from tiktoken.load import load_tiktoken_bpe
from tokenizers import Tokenizer

_CL100K_FILE = Path(__file__).parent / "data" / "cl100k_base.tiktoken"
_CL100K_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
_CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)


@cache
def cl100k() -> tiktoken.Encoding:
    from tiktoken_ext.openai_public import ENDOFPROMPT, ENDOFTEXT, FIM_MIDDLE, FIM_PREFIX, FIM_SUFFIX

    return tiktoken.Encoding(
        name="cl100k_base",
        pat_str=_CL100K_PATTERN,
        mergeable_ranks=load_tiktoken_bpe(str(_CL100K_FILE), expected_hash=_CL100K_SHA256),
        special_tokens={ENDOFTEXT: 100257, FIM_PREFIX: 100258, FIM_MIDDLE: 100259, FIM_SUFFIX: 100260, ENDOFPROMPT: 100276},
    )


@dataclass(frozen=True)
class TokenCounter:
    """Counts in cl100k and in the embedding model's tokenizer; `window` is the model's input limit."""

    model_tokenizer: Tokenizer
    window: int

    def cl100k(self, text: str) -> int:
        return len(cl100k().encode_ordinary(text))

    def model(self, text: str) -> int:
        return len(self.model_tokenizer.encode(text, add_special_tokens=True).ids)


@cache
def counter(model_dir: Path) -> TokenCounter:
    tokenizer_file = model_dir / "tokenizer.json"
    if not tokenizer_file.is_file():
        raise FileNotFoundError(
            f"{tokenizer_file}: the embedding model has no tokenizer.json; point PROTOKOLLSOK_MODEL at a "
            "sentence-transformers model folder saved with a fast tokenizer"
        )
    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return TokenCounter(tokenizer, _window(model_dir))


def _window(model_dir: Path) -> int:
    """The model's input limit, from the files the model folder holds: sentence-transformers before 6 writes
    it to sentence_bert_config.json, later versions to the tokenizer config; the position table is the bound."""
    for name, key in (("sentence_bert_config.json", "max_seq_length"), ("tokenizer_config.json", "model_max_length")):
        path = model_dir / name
        value = json.loads(path.read_text()).get(key) if path.is_file() else None
        if isinstance(value, int) and 0 < value < 100_000:
            return value
    return int(json.loads((model_dir / "config.json").read_text())["max_position_embeddings"])
