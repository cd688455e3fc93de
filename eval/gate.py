"""The quality gate: one `protokollsok eval` run held against the baseline committed in eval/gate-baseline.json.

CI (.ci/run → scripts/gate.sh) ingests the sample corpus into a fresh index and runs eval on eval/dev.jsonl
and eval/unanswerable.jsonl with --ask. The gate fails, naming the questions that regressed, when hybrid
recall@5 or MRR@10 falls by more than 0.02, or abstention on unanswerable questions by more than 0.05. So
that abstaining on everything cannot pass it, answers with correct evidence may not fall by more than 0.05
either. Figures are means over the questions both runs hold, so adding questions never fails the gate.

A deliberate change regenerates the baseline in the same commit (`bash scripts/gate.sh --update`), with the
before/after that command prints in the commit message. The baseline keeps only what the gate compares, per
question, so that its diff shows which questions moved.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

MODE = "hybrid"
TOLERANCES = {"recall@5": 0.02, "mrr@10": 0.02, "abstention": 0.05, "answered_with_evidence": 0.05}
# figure → (the per-question value it is the mean of, whether the question must be answerable)
_FIGURES = {
    "recall@5": ("recall@5", True),
    "mrr@10": ("mrr@10", True),
    "abstention": ("abstained", False),
    "answered_with_evidence": ("correct_evidence", True),
}
UPDATE = "bash scripts/gate.sh --update"


class GateError(ValueError):
    pass


@dataclass(frozen=True)
class Figure:
    name: str
    before: float
    after: float
    tolerance: float
    regressed: list[tuple[str, float, float]]  # (question id, before, after), questions that went down

    @property
    def failed(self) -> bool:
        return self.before - self.after > self.tolerance + 1e-9


@dataclass(frozen=True)
class Verdict:
    figures: list[Figure]
    shared: int
    new: list[str]
    missing: list[str]

    @property
    def failed(self) -> list[Figure]:
        return [f for f in self.figures if f.failed]


def require(path: Path | None, update: bool, modes: list[str], ask: bool) -> None:
    """Before anything runs: a gate run needs its baseline file named, the hybrid mode, and --ask."""
    if update and path is None:
        raise GateError(f"--update-gate writes the baseline named by --gate; write `{UPDATE}`")
    if path is None:
        return
    if MODE not in modes:
        raise GateError(f"--gate compares the {MODE} mode; add it to --modes (e.g. --modes {MODE})")
    if not ask:
        raise GateError("--gate compares answers and abstention too; add --ask")
    if not update:
        load(path)


def baseline(summary: dict, records: list[dict], answers: list[dict]) -> dict:
    """What the gate keeps of one eval run: per question, the values its figures are the means of."""
    questions: dict[str, dict] = {}
    for r in records:
        if r["mode"] == MODE:
            questions[r["id"]] = {"answerable": True, "recall@5": r["recall@5"], "mrr@10": round(r["mrr@10"], 6)}
    for a in answers:
        entry = questions.setdefault(a["id"], {"answerable": a["answerable"]})
        if a["answerable"]:
            entry["correct_evidence"] = float(a["correct_evidence"])
        else:
            entry["abstained"] = float(not a["answered"])
    return {
        "about": f"The quality gate's baseline (eval/gate.py); regenerate it deliberately with: {UPDATE}",
        "question_set": summary["question_set"],
        "mode": MODE,
        "model": Path(str(summary["model"])).name,
        "fusion": summary["fusion"],
        "dense_weight": summary["dense_weight"],
        "created": time.strftime("%Y-%m-%d"),
        "questions": dict(sorted(questions.items())),
    }


def compare(before: dict, after: dict) -> Verdict:
    """Each figure over the questions both hold, and the questions whose value went down."""
    old, new = before["questions"], after["questions"]
    shared = sorted(set(old) & set(new))
    figures = []
    for name, (value, answerable) in _FIGURES.items():
        ids = [q for q in shared if old[q]["answerable"] == new[q]["answerable"] == answerable and value in old[q] and value in new[q]]
        a = [old[q][value] for q in ids]
        b = [new[q][value] for q in ids]
        regressed = [(q, x, y) for q, x, y in zip(ids, a, b) if y < x]
        figures.append(Figure(name, _mean(a), _mean(b), TOLERANCES[name], regressed))
    return Verdict(figures, len(shared), sorted(set(new) - set(old)), sorted(set(old) - set(new)))


def report(verdict: Verdict, path: Path) -> str:
    lines = [f"Quality gate against {path} ({MODE}, {verdict.shared} questions in both runs):"]
    for f in verdict.figures:
        state = "REGRESSED" if f.failed else "ok"
        lines.append(
            f"  {f.name:<23} {f.before:.3f} → {f.after:.3f}  ({f.after - f.before:+.3f}, tolerance {f.tolerance:.2f})  {state}"
        )
        for q, x, y in f.regressed:
            lines.append(f"      {'-' if f.failed else ' '} {q}: {x:.3f} → {y:.3f}")
    if verdict.new or verdict.missing:
        lines.append(
            f"  {len(verdict.new)} question(s) not in the baseline, {len(verdict.missing)} in it no more: "
            f"not compared; {UPDATE} takes them in"
        )
    return "\n".join(lines)


def conclusion(verdict: Verdict, path: Path) -> str:
    failed = verdict.failed
    if failed:
        names = sorted({q for f in failed for q, _, _ in f.regressed})
        return (
            f"gate FAILED: {', '.join(f.name for f in failed)} fell past the tolerance; regressed: {', '.join(names)}. "
            f"Fix the regression, or if the change is deliberate, run `{UPDATE}` and commit {path} with the "
            "before/after above in the message"
        )
    return "gate passed"


def check(path: Path, summary: dict, records: list[dict], answers: list[dict], update: bool) -> int:
    """Compare this run with the baseline at `path` (1 when it regressed), or write it there (`update`)."""
    current = baseline(summary, records, answers)
    if update:
        previous = load(path) if path.is_file() else None
        path.write_text(_dumps(current), encoding="utf-8")
        if previous is not None:
            print(report(compare(previous, current), path))
        print(f"baseline written: {path} ({len(current['questions'])} questions); commit it with the figures above")
        return 0
    verdict = compare(load(path), current)
    print(report(verdict, path))
    print(conclusion(verdict, path))
    return 1 if verdict.failed else 0


def load(path: Path) -> dict:
    if not path.is_file():
        raise GateError(f"{path}: no baseline yet; write one with `{UPDATE}` and commit it")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        questions = data["questions"]
        if not isinstance(questions, dict) or not all("answerable" in q for q in questions.values()):
            raise KeyError("questions")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise GateError(f"{path}: not a gate baseline (field {error}); regenerate it with `{UPDATE}`") from error
    return data


def _dumps(data: dict) -> str:
    """JSON with one question a line, so that a baseline's diff shows which questions moved."""
    head = [f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in data.items() if k != "questions"]
    rows = [f"  {json.dumps(q)}: {json.dumps(v)}" for q, v in data["questions"].items()]
    return "{\n" + ",\n".join(head) + ',\n "questions": {\n' + ",\n".join(rows) + "\n }\n}\n"


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0
