"""Evaluation figures → a Markdown summary, a self-contained HTML report with plots, a baseline comparison."""

from __future__ import annotations

import base64
import html as escape
import io

_FIGURES = ["recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10", "coverage@10"]


def markdown(summary: dict) -> str:
    modes = summary["modes"]
    lines = [
        f"## Retrieval on {summary['question_set']} (index {summary['index_version']}, fusion {summary['fusion']}, "
        f"dense weight {summary['dense_weight']}, synonyms {summary.get('synonyms')}"
        + (f", reader {summary['reader']})" if summary.get("reader") else ")"),
        "",
        "| mode | questions | " + " | ".join(_FIGURES) + " | p50 ms | p95 ms |",
        "|---|---:|" + "---:|" * (len(_FIGURES) + 2),
    ]
    for mode, m in modes.items():
        cells = " | ".join(f"{m[f]:.3f}" for f in _FIGURES)
        lines.append(f"| {mode} | {m['questions']} | {cells} | {m['latency_p50_ms']:.0f} | {m['latency_p95_ms']:.0f} |")
    types = sorted({t for m in modes.values() for t in m["by_type"]})
    lines += ["", "Per question type (recall@1 / recall@5 / MRR@10):", "", "| type | n | " + " | ".join(modes) + " |", "|---|---:|" + "---|" * len(modes)]
    for t in types:
        n = next(m["by_type"][t]["questions"] for m in modes.values() if t in m["by_type"])
        cells = " | ".join(
            "{:.2f} / {:.2f} / {:.2f}".format(*(m["by_type"][t][f] for f in ("recall@1", "recall@5", "mrr@10")))
            if t in m["by_type"] else "–"
            for m in modes.values()
        )
        lines.append(f"| {t} | {n} | {cells} |")
    lines += [""] + _answer_lines(summary["answers"])
    return "\n".join(lines)


def _answer_lines(answers: dict | str) -> list[str]:
    if isinstance(answers, str):
        return [f"Answers: {answers}"]
    a = answers
    lines = [
        f"## Answers and abstention ({a['answerable']} answerable, {a['unanswerable']} unanswerable, threshold {a['threshold']}"
        + (f", judge {a['judge']})" if a.get("judge") else ")"),
        "",
        "| answered with correct evidence | unanswerable abstained | false abstention | gold shown (answer or possible) "
        "| possible | verbatim | mean words | ask p50 ms | ask p95 ms |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {a['answered_with_evidence']:.3f} | {a['abstained_unanswerable']:.3f} | {a['false_abstention']:.3f} "
        f"| {a['gold_shown']:.3f} | {a['possible']:.3f} | {a['verbatim']:.3f} "
        f"| {a['mean_words']:.1f} | {a['latency_p50_ms']:.0f} | {a['latency_p95_ms']:.0f} |",
        "",
        "Threshold by {folds}-fold cross-validation: {threshold} (folds chose {ts}); held-out folds answered with "
        "correct evidence {awe:.3f}, unanswerable abstained {ab:.3f}".format(
            folds=a["calibration"]["folds"], threshold=a["calibration"]["threshold"],
            ts=", ".join(str(t) for t in a["calibration"]["thresholds"]),
            awe=a["calibration"]["answered_with_evidence"], ab=a["calibration"]["abstained_unanswerable"],
        ),
        "",
        "Trade-off (threshold: answered with correct evidence / unanswerable abstained): "
        + ", ".join(f"{p['threshold']:.2f}: {p['answered_with_evidence']:.2f} / {p['abstained_unanswerable']:.2f}" for p in a["curve"]),
    ]
    return lines


def html(summary: dict, records: list[dict]) -> str:
    plots = [_recall_curves(summary), _type_bars(summary)]
    if isinstance(summary["answers"], dict):
        plots.append(_tradeoff(summary["answers"]))
    failures = [r for r in records if r["mode"] == next(iter(summary["modes"])) and not r["recall@10"]]
    rows = "".join(
        f"<tr><td>{escape.escape(r['id'])}</td><td>{escape.escape(r['type'])}</td><td>{escape.escape(r['question'])}</td></tr>"
        for r in failures
    )
    body = _markdown_tables(markdown(summary))
    images = "".join(f'<figure><img alt="{escape.escape(alt)}" src="data:image/png;base64,{data}"><figcaption>{escape.escape(alt)}</figcaption></figure>' for alt, data in plots)
    return f"""<!doctype html>
<html lang="sv"><head><meta charset="utf-8"><title>Protokollsök – utvärdering</title>
<style>body{{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}}
table{{border-collapse:collapse;margin:1rem 0}}td,th{{border:1px solid #999;padding:.25rem .5rem;text-align:right}}
td:first-child,th:first-child{{text-align:left}}img{{max-width:100%}}</style></head>
<body><h1>Utvärdering av sökningen</h1>
<p>Index {escape.escape(summary['index_version'])}, modell {escape.escape(str(summary['model']))}, {escape.escape(summary['created'])}.</p>
{body}{images}
<h2>Frågor utan relevant träff bland de tio första ({escape.escape(next(iter(summary['modes'])))})</h2>
<table><tr><th>id</th><th>typ</th><th>fråga</th></tr>{rows}</table></body></html>"""


def comparison(baseline: dict, current: dict) -> str:
    """What improved and what regressed, question by question (first relevant rank, per mode)."""
    before = {(r["id"], r["mode"]): r for r in baseline["questions"]}
    better, worse = [], []
    for r in current["questions"]:
        old = before.get((r["id"], r["mode"]))
        if old is None:
            continue
        a, b = old["first_relevant"] or 99, r["first_relevant"] or 99
        if b < a:
            better.append(f"  + {r['mode']:<7} {r['id']}: rank {_rank(a)} → {_rank(b)}")
        elif b > a:
            worse.append(f"  - {r['mode']:<7} {r['id']}: rank {_rank(a)} → {_rank(b)}")
    lines = ["", f"Compared with {baseline['summary']['index_version']} ({baseline['summary']['created']}):"]
    for mode, m in current["summary"]["modes"].items():
        old = baseline["summary"]["modes"].get(mode)
        if old:
            lines.append(f"  {mode}: recall@5 {old['recall@5']:.3f} → {m['recall@5']:.3f}, MRR@10 {old['mrr@10']:.3f} → {m['mrr@10']:.3f}")
    lines += [f"improved ({len(better)}):", *better, f"regressed ({len(worse)}):", *worse]
    return "\n".join(lines)


def _rank(value: int) -> str:
    return "none" if value == 99 else str(value)


def _recall_curves(summary: dict) -> tuple[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for mode, m in summary["modes"].items():
        ax.plot(range(1, 11), m["recall_curve"], marker="o", label=mode)
    ax.set(xlabel="k", ylabel="recall@k", ylim=(0, 1.02), title="Recall@k per mode")
    ax.grid(alpha=0.3)
    ax.legend()
    return "Recall@k per mode", _png(fig)


def _type_bars(summary: dict) -> tuple[str, str]:
    import matplotlib.pyplot as plt
    import numpy as np

    modes = list(summary["modes"])
    types = sorted({t for m in summary["modes"].values() for t in m["by_type"]})
    fig, ax = plt.subplots(figsize=(9, 3.5))
    width = 0.8 / max(len(modes), 1)
    for i, mode in enumerate(modes):
        values = [summary["modes"][mode]["by_type"].get(t, {}).get("recall@5", 0.0) for t in types]
        ax.bar(np.arange(len(types)) + i * width, values, width, label=mode)
    ax.set_xticks(np.arange(len(types)) + width * (len(modes) - 1) / 2, types, rotation=30, ha="right")
    ax.set(ylabel="recall@5", ylim=(0, 1.05), title="Recall@5 per question type")
    ax.legend()
    fig.tight_layout()
    return "Recall@5 per question type", _png(fig)


def _tradeoff(answers: dict) -> tuple[str, str]:
    import matplotlib.pyplot as plt

    curve = answers["curve"]
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot([p["abstained_unanswerable"] for p in curve], [p["answered_with_evidence"] for p in curve], marker="o")
    for p in curve[::4]:
        ax.annotate(f"{p['threshold']:.2f}", (p["abstained_unanswerable"], p["answered_with_evidence"]), fontsize=8)
    ax.set_xlabel("obesvarbara frågor där systemet avstår")
    ax.set_ylabel("besvarbara frågor besvarade med rätt källa")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    return "Avvägning mellan att svara och att avstå, per tröskel", _png(fig)


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def _markdown_tables(text: str) -> str:
    """The summary's Markdown tables as HTML tables; other lines as paragraphs."""
    out, table = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            if not set(line) <= set("|-: "):
                table.append([escape.escape(c.strip()) for c in line.strip("|").split("|")])
            continue
        if table:
            head, *rows = table
            out.append("<table><tr>" + "".join(f"<th>{c}</th>" for c in head) + "</tr>"
                       + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows) + "</table>")
            table = []
        if line.startswith("## "):
            out.append(f"<h2>{escape.escape(line[3:])}</h2>")
        elif line.strip():
            out.append(f"<p>{escape.escape(line)}</p>")
    return "\n".join(out)
