"""Build the dataset: edits -> task views -> filters -> dedup -> split -> sorted Parquet.

Memory stays bounded for millions of edits because text is never held whole:
1. Stream the edits files in batches; build the views, apply filters 1-7 (vectorised) and
   write the surviving candidates (text and all) to a temporary Parquet file; MinHash
   signatures go to a raw uint32 file.
2. Decide dedup and split on the candidates' small columns only (no text).
3. Stream the candidates again, scattering kept rows into buckets by (split, rank).
4. Per split, read buckets in order, sort each by rank and append to the final file in
   fixed-size row groups -- an external bucket sort, so the output is sorted and
   byte-identical however the inputs were batched.
"""
from __future__ import annotations

import logging
import shutil
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from editflow import cells, records, tasks
from editflow.atomic import atomic_dir, atomic_path, check_writable, output_lock, remove_stale_temps
from editflow.dataset import dedup as dd
from editflow.dataset import split as sp
from editflow.dataset.filters import DEDUP_STEPS, FILTER_STEPS, FilterConfig, cheap_removals, first_removal
from editflow.dataset.tokens import TokenCounter, make_counter, render_prompts, render_targets
from editflow.tasks.base import changed_lines_text

log = logging.getLogger(__name__)

ROW_GROUP_ROWS = 20_000
BATCH_BYTES = 256 * 2**20  # uncompressed input bytes per streamed batch (see batch_rows)
MIN_BATCH_ROWS = 64
BUCKET_BYTES = 512 * 2**20  # uncompressed candidate bytes per sort bucket
TMP_DIR = ".build-tmp"

CANDIDATE_SCHEMA = pa.schema([
    ("example_id", pa.string()), ("edit_id", pa.string()), ("task", pa.string()),
    ("message", pa.string()), ("old_code", pa.string()), ("target", pa.string()),
    ("source", pa.string()), ("reference", pa.string()), ("meta", pa.string()),
    ("repo", pa.string()), ("commit", pa.string()), ("path", pa.string()),
    ("license", pa.string()), ("commit_time", pa.int64()), ("kind", pa.string()),
    ("changed_lines", pa.int64()), ("hunks", pa.int64()), ("changed_cells", pa.int64()),
    ("prompt_tokens", pa.int64()), ("target_tokens", pa.int64()),
    ("content_hash", pa.binary(16)), ("sig_row", pa.int64()),
])
TEXT_COLUMNS = ("message", "old_code", "target", "source", "reference", "meta")
META_COLUMNS = [n for n in CANDIDATE_SCHEMA.names if n not in TEXT_COLUMNS]


class InputError(ValueError):
    """An input file is missing or malformed; the message names it and the fix."""


@dataclass
class BuildSettings:
    tasks: tuple[str, ...]
    filters: FilterConfig
    dedup: dd.DedupConfig
    split: sp.SplitConfig

    @classmethod
    def from_section(cls, section: dict[str, Any]) -> "BuildSettings":
        return cls(tasks=tuple(t for t in tasks.names() if t in section["tasks"]),
                   filters=FilterConfig.from_section(section.get("filters", {})),
                   dedup=dd.DedupConfig.from_section(section.get("dedup", {})),
                   split=sp.SplitConfig.from_section(section.get("split", {})))


@dataclass
class Pass1:
    """What the streaming pass learns besides the candidates it writes."""
    edits: int = 0
    by_kind: Counter = field(default_factory=Counter)
    by_change_type: Counter = field(default_factory=Counter)
    repos: set = field(default_factory=set)
    commits: set = field(default_factory=set)
    candidates: dict = field(default_factory=dict)  # task -> rows entering the funnel
    removed: dict = field(default_factory=dict)     # task -> {step: rows}
    n_sig: int = 0


def _progress(iterable: Iterable, total: int | None, desc: str):
    from tqdm import tqdm
    return tqdm(iterable, total=total, desc=desc, unit="batch", disable=not sys.stderr.isatty())


def open_edits(path: Path) -> pq.ParquetFile:
    """Open one edits file, checking it exists and has every EDIT_SCHEMA column (footer only)."""
    if not path.exists():
        raise InputError(f"edits file not found: {path} (run `editflow mine` first)")
    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001 - any Arrow error: name the file
        raise InputError(f"{path}: not a readable Parquet file ({exc}); re-run `editflow mine`") from exc
    missing = [n for n in records.EDIT_SCHEMA.names
               if n not in pf.schema_arrow.names and n not in records.EDIT_COLUMNS_ADDED]
    if missing:
        raise InputError(f"{path}: missing edit column(s) {missing}; expected records.EDIT_SCHEMA "
                         f"(re-mine with the current `editflow mine`)")
    return pf


def batch_rows(pf: pq.ParquetFile, batch_size: int, target_bytes: int = BATCH_BYTES) -> int:
    """Rows per batch so that a batch holds about `target_bytes` of uncompressed data.

    Real notebooks carry their raw JSON (outputs, images) in old_source/new_source: 20,000
    rows of 1 MB each would not fit in memory, 20,000 small synthetic edits easily do.
    """
    meta = pf.metadata
    if meta.num_rows == 0:
        return batch_size
    total = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    per_row = max(total / meta.num_rows, 1.0)
    return int(min(batch_size, max(MIN_BATCH_ROWS, target_bytes // per_row)))


def read_edit_batches(paths: Sequence[Path], batch_size: int):
    """Yield EDIT_SCHEMA tables; a missing column or an unreadable file names the file.

    Every file is checked before the first batch is read: a bad tenth file must not cost
    the time spent on the first nine."""
    files = [(Path(p), open_edits(Path(p))) for p in paths]
    for path, pf in files:
        rows = batch_rows(pf, batch_size)
        columns = [n for n in records.EDIT_SCHEMA.names if n in pf.schema_arrow.names]
        for batch in pf.iter_batches(batch_size=rows, columns=columns):
            try:  # an edits file mined before a column was added reads it as null
                table = records.conform_edits(pa.Table.from_batches([batch]))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError) as exc:
                raise InputError(f"{path}: columns do not match records.EDIT_SCHEMA ({exc}); "
                                 f"re-mine with the current `editflow mine`") from exc
            yield table


def count_skips(paths: Sequence[Path]) -> dict[str, int]:
    counts: Counter = Counter()
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise InputError(f"skips file not found: {path}")
        try:
            table = pq.read_table(path, columns=["reason"])
        except Exception as exc:  # noqa: BLE001 - any Arrow error: name the file
            raise InputError(f"{path}: not a skips table with a `reason` column ({exc})") from exc
        for reason, n in Counter(table["reason"].to_pylist()).items():
            counts[reason or "unknown"] += n
    return dict(sorted(counts.items()))


def _example_ids(edit_ids: pa.Array, keys: pa.Array, task: str) -> pa.Array:
    """stable_id(edit, task), plus the example's key when a task makes several per edit."""
    return pa.array([records.stable_id(e, task, k) if k else records.stable_id(e, task)
                     for e, k in zip(edit_ids.to_pylist(), keys.to_pylist())], pa.string())


def filter_view(view: pa.Table, task: str, fcfg: FilterConfig,
                counter: TokenCounter) -> tuple[np.ndarray, dict[str, int], np.ndarray]:
    """Filters 1-7 on one task's view: keep mask, rows removed per step, (prompt, target) tokens.

    Tokens are counted only for rows the cheaper filters keep (counting is the slow part)."""
    n = view.num_rows
    masks = cheap_removals(view, fcfg, tasks.get(task).dt_filter_switch)
    alive, _ = first_removal(masks, n)
    tokens = np.zeros((2, n), dtype=np.int64)
    idx = np.flatnonzero(alive)
    if len(idx):
        sub = view.take(pa.array(idx))
        tokens[0, idx] = counter.count(render_prompts(task, sub["message"], sub["old_code"]))
        tokens[1, idx] = counter.count(render_targets(task, sub["target"]))
    masks["max_tokens"] = (tokens.sum(axis=0) > fcfg.max_tokens) if fcfg.max_tokens is not None \
        else np.zeros(n, dtype=bool)
    keep, counts = first_removal(masks, n)
    return keep, counts, tokens


def dedup_texts(view: pa.Table) -> list[str]:
    """Each row's near-duplicate text: the view's own, else the changed lines of source -> reference."""
    given = view["dedup_text"].to_pylist()
    if all(t is not None for t in given):
        return given
    sources, refs = view["source"].to_pylist(), view["reference"].to_pylist()
    return [t if t is not None else changed_lines_text(s or "", r or "")
            for t, s, r in zip(given, sources, refs)]


def sign_views(views: dict[str, pa.Table], kept: dict[str, np.ndarray], cfg: dd.DedupConfig,
               sig_fh, first_row: int) -> tuple[dict[str, np.ndarray], int]:
    """MinHash each kept row's dedup text; append the signatures to `sig_fh`.

    Rows of one edit with the same text (e.g. both notebook tasks) share one signature, so
    near-duplicate clusters are clusters of edits, whatever the number of tasks. Returns each
    row's signature row number per task (-1: not kept, or no shingle to hash) and the number
    of signatures written."""
    out = {t: np.full(v.num_rows, -1, dtype=np.int64) for t, v in views.items()}
    slot: dict[tuple[str, str], int] = {}
    texts: list[str] = []
    where: list[tuple[str, np.ndarray, np.ndarray]] = []
    for task, view in views.items():
        idx = np.flatnonzero(kept[task])
        if not len(idx):
            continue
        sub = view.take(pa.array(idx))
        ids = []
        for key in zip(sub["edit_id"].to_pylist(), dedup_texts(sub)):
            if key not in slot:
                slot[key] = len(texts)
                texts.append(key[1])
            ids.append(slot[key])
        where.append((task, idx, np.asarray(ids, dtype=np.int64)))
    if not texts:
        return out, 0
    sig, valid = dd.signatures(texts, cfg)
    sig_fh.write(np.ascontiguousarray(sig[valid]).tobytes())
    number = np.full(len(texts), -1, dtype=np.int64)
    number[valid] = first_row + np.arange(int(valid.sum()))
    for task, idx, ids in where:
        out[task][idx] = number[ids]
    return out, int(valid.sum())


def candidate_table(view: pa.Table, task: str, idx: np.ndarray, tokens: np.ndarray,
                    sig_rows: np.ndarray) -> pa.Table:
    """The surviving rows of a view as CANDIDATE_SCHEMA (text plus what dedup/split/stats need)."""
    sub = view.take(pa.array(idx))
    cols = {
        "example_id": _example_ids(sub["edit_id"], sub["example_key"], task),
        "kind": pa.array([tasks.get(task).reads] * len(idx), pa.string()),
        "prompt_tokens": pa.array(tokens[0][idx]), "target_tokens": pa.array(tokens[1][idx]),
        "content_hash": dd.content_hashes(sub["old_code"], sub["target"]),
        "sig_row": pa.array(sig_rows[idx]),
    }
    arrays = [cols[n] if n in cols else sub[n] for n in CANDIDATE_SCHEMA.names]
    return pa.Table.from_arrays(arrays, schema=CANDIDATE_SCHEMA)


def pass1(paths: Sequence[Path], settings: BuildSettings, counter: TokenCounter, tmp: Path,
          batch_size: int) -> Pass1:
    """Stream the edits: views, filters and signatures; write the candidates to `tmp`."""
    state = Pass1(candidates={t: 0 for t in settings.tasks},
                  removed={t: {s: 0 for s in FILTER_STEPS} for t in settings.tasks})
    writer = pq.ParquetWriter(tmp / "candidates.parquet", CANDIDATE_SCHEMA, compression="none")
    sig_fh = open(tmp / "signatures.u32", "wb")
    try:
        for edits in _progress(read_edit_batches(paths, batch_size), None, "dataset pass 1"):
            state.edits += edits.num_rows
            state.by_kind.update(edits["kind"].to_pylist())
            state.by_change_type.update(edits["change_type"].to_pylist())
            state.repos.update(pc.unique(edits["repo"]).to_pylist())
            state.commits.update(pc.unique(pc.binary_join_element_wise(
                edits["repo"], edits["commit"], "\x00")).to_pylist())
            views = {task: tasks.get(task).build_view(edits) for task in settings.tasks}
            kept: dict[str, tuple[np.ndarray, np.ndarray]] = {}
            for task in settings.tasks:
                keep, counts, tokens = filter_view(views[task], task, settings.filters, counter)
                state.candidates[task] += views[task].num_rows
                for step, c in counts.items():
                    state.removed[task][step] += c
                kept[task] = (keep, tokens)
            to_sign = {t: kept[t][0] if settings.dedup.near else np.zeros(views[t].num_rows, bool) for t in views}
            sig_rows, n_signed = sign_views(views, to_sign, settings.dedup, sig_fh, state.n_sig)
            state.n_sig += n_signed
            for task in settings.tasks:
                keep, tokens = kept[task]
                idx = np.flatnonzero(keep)
                if len(idx):
                    writer.write_table(candidate_table(views[task], task, idx, tokens, sig_rows[task]))
    finally:
        writer.close()
        sig_fh.close()
    return state


@dataclass
class Decisions:
    keep: np.ndarray          # per candidate row
    split: np.ndarray         # 0/1/2 per candidate row (valid where keep)
    rank: np.ndarray          # position within its split file (valid where keep)
    removed: dict             # task -> {dedup step: rows}
    split_method: str
    near_clusters: int
    near_cluster_sizes: list
    split_warning: str | None = None


def _age(meta: pa.Table) -> np.ndarray:
    """Rank of each row by (commit_time, repo, commit, path, task, content): oldest first."""
    order = np.asarray(pc.sort_indices(meta, sort_keys=[(c, "ascending") for c in
                                          ("commit_time", "repo", "commit", "path", "task", "content_hash")]))
    age = np.empty(len(order), dtype=np.int64)
    age[order] = np.arange(len(order))
    return age


def exact_dedup(meta: pa.Table, age: np.ndarray) -> dict[str, np.ndarray]:
    """Rows removed as exact duplicates: {step: mask}; the oldest row of each group stays."""
    n = meta.num_rows
    by_id = ~dd.keep_first([meta["example_id"]], age)
    idx = np.flatnonzero(~by_id)
    sub = meta.take(pa.array(idx))
    keep_content = np.zeros(n, dtype=bool)
    keep_content[idx] = dd.keep_first([sub["task"], sub["content_hash"]], age[idx])
    return {"dedup_exact_id": by_id, "dedup_exact_content": ~by_id & ~keep_content}


@dataclass
class NearDups:
    removed: np.ndarray       # rows dropped: near duplicates from another repository
    cluster: np.ndarray       # cluster label per row (-1: in no cluster)
    n_clusters: int
    sizes: list


def near_dedup(meta: pa.Table, alive: np.ndarray, age: np.ndarray, sig_path: Path, n_sig: int,
               cfg: dd.DedupConfig) -> NearDups:
    """Cluster the alive rows' edits by MinHash; drop members outside the oldest member's repository."""
    n = meta.num_rows
    out = NearDups(removed=np.zeros(n, dtype=bool), cluster=np.full(n, -1, dtype=np.int64), n_clusters=0, sizes=[])
    sig_row = np.asarray(meta["sig_row"], dtype=np.int64)
    rows = np.flatnonzero(alive & (sig_row >= 0))
    if not n_sig or not len(rows):
        return out
    nodes, inv = np.unique(sig_row[rows], return_inverse=True)   # one node per edit
    node_age = np.full(len(nodes), np.iinfo(np.int64).max)
    np.minimum.at(node_age, inv, age[rows])
    sig = np.asarray(np.memmap(sig_path, dtype=np.uint32, mode="r", shape=(n_sig, cfg.num_perm))[nodes])
    labels = dd.components(len(nodes), dd.near_duplicate_pairs(sig, np.ones(len(nodes), dtype=bool), cfg))
    in_cluster = np.bincount(labels, minlength=len(nodes))[labels] >= 2
    node_repo = np.empty(len(nodes), dtype=object)
    node_repo[inv] = meta["repo"].to_numpy(zero_copy_only=False)[rows]
    # the repository of each cluster's oldest node
    order = np.lexsort((node_age, labels))
    lab_sorted = labels[order]
    starts = np.concatenate([[True], lab_sorted[1:] != lab_sorted[:-1]])
    head = order[np.maximum.accumulate(np.where(starts, np.arange(len(order)), 0))]
    rep_repo = np.empty(len(nodes), dtype=object)
    rep_repo[order] = node_repo[head]
    drop_node = in_cluster & (node_repo != rep_repo)
    out.removed[rows[drop_node[inv]]] = True
    out.cluster[rows] = np.where(in_cluster[inv], labels[inv], -1)
    cl = labels[in_cluster]
    if len(cl):
        uniq = np.unique(cl)
        out.n_clusters = int(len(uniq))
        out.sizes = sorted(np.bincount(cl)[uniq].tolist(), reverse=True)
    return out


def assign_splits(kmeta: pa.Table, cluster: np.ndarray, age: np.ndarray, cfg: sp.SplitConfig) -> sp.Assignment:
    """Split code per kept row by the configured dataset.split.method (editflow.dataset.split)."""
    return sp.assign(kmeta, cluster, age, cfg)


def ranks_within_splits(kmeta: pa.Table, split: np.ndarray) -> np.ndarray:
    """Each kept row's position in its split file: (task, repo, commit_time, commit, path, example_id)."""
    if not kmeta.num_rows:
        return np.zeros(0, dtype=np.int64)
    t = pa.table({"split": pa.array(split), "task": kmeta["task"], "repo": kmeta["repo"],
                  "commit_time": kmeta["commit_time"], "commit": kmeta["commit"],
                  "path": kmeta["path"], "example_id": kmeta["example_id"]})
    order = np.asarray(pc.sort_indices(t, sort_keys=[(c, "ascending") for c in t.column_names]))
    sorted_split = split[order]
    first = np.array([np.searchsorted(sorted_split, s, side="left") for s in range(3)], dtype=np.int64)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order)) - first[sorted_split]
    return rank


def decide(meta: pa.Table, settings: BuildSettings, tmp: Path, n_sig: int) -> Decisions:
    """Dedup and split on the candidates' small columns; every removal counted per task."""
    n = meta.num_rows
    task = np.asarray(meta["task"].to_pylist(), dtype=object) if n else np.zeros(0, dtype=object)
    removed = {t: {s: 0 for s in DEDUP_STEPS} for t in settings.tasks}
    keep = np.ones(n, dtype=bool)
    age = _age(meta) if n else np.zeros(0, np.int64)

    def drop(step: str, hit: np.ndarray) -> None:
        hit = hit & keep
        for t, c in Counter(task[hit].tolist()).items():
            removed[t][step] += c
        keep[hit] = False

    if settings.dedup.exact and n:
        for step, hit in exact_dedup(meta, age).items():
            drop(step, hit)
    near = NearDups(removed=np.zeros(n, bool), cluster=np.full(n, -1, np.int64), n_clusters=0, sizes=[])
    if settings.dedup.near and n:
        near = near_dedup(meta, keep, age, tmp / "signatures.u32", n_sig, settings.dedup)
        drop("dedup_near", near.removed)

    kept = np.flatnonzero(keep)
    kmeta = meta.take(pa.array(kept))
    split = np.zeros(n, dtype=np.int8)
    assigned = assign_splits(kmeta, near.cluster[kept], age[kept], settings.split)
    split[kept] = assigned.split
    rank = np.zeros(n, dtype=np.int64)
    rank[kept] = ranks_within_splits(kmeta, split[kept])
    return Decisions(keep=keep, split=split, rank=rank, removed=removed, split_method=assigned.method,
                     near_clusters=near.n_clusters, near_cluster_sizes=near.sizes[:20],
                     split_warning=assigned.warning)


def _example_table(batch: pa.Table) -> pa.Table:
    prompt_fields = pa.StructArray.from_arrays(
        [batch["message"].combine_chunks(), batch["old_code"].combine_chunks()],
        fields=list(records.PROMPT_FIELDS))
    split_names = pa.array(sp.SPLIT_NAMES, pa.string())
    cols = {"prompt_fields": prompt_fields,
            "split": pc.take(split_names, batch["split_code"])}
    arrays = [cols[f.name] if f.name in cols else batch[f.name] for f in records.EXAMPLE_SCHEMA]
    return pa.Table.from_arrays(arrays, schema=records.EXAMPLE_SCHEMA)


def write_splits(tmp: Path, out: Path, dec: Decisions, batch_size: int, bucket_rows: int) -> dict[str, int]:
    """Passes 3 and 4: bucket the kept candidates by (split, rank), then write each split sorted."""
    writers: dict[tuple[int, int], pa.ipc.RecordBatchFileWriter] = {}
    bucket_schema = records.EXAMPLE_SCHEMA.append(pa.field("rank", pa.int64()))
    pf = pq.ParquetFile(tmp / "candidates.parquet")
    # buckets are read whole in pass 4: bound them in bytes as well as rows
    bucket_rows = batch_rows(pf, bucket_rows, target_bytes=BUCKET_BYTES)
    start = 0
    try:
        for batch in pf.iter_batches(batch_size=batch_rows(pf, batch_size)):
            n = batch.num_rows
            sl = slice(start, start + n)
            start += n
            keep = dec.keep[sl]
            if not keep.any():
                continue
            idx = np.flatnonzero(keep)
            t = pa.Table.from_batches([batch]).take(pa.array(idx))
            t = t.append_column("split_code", pa.array(dec.split[sl][idx], pa.int8()))
            ex = _example_table(t).append_column("rank", pa.array(dec.rank[sl][idx], pa.int64()))
            bucket = dec.rank[sl][idx] // bucket_rows
            codes = dec.split[sl][idx].astype(np.int64) * (1 << 40) + bucket
            for code in np.unique(codes).tolist():
                key = (code >> 40, code & ((1 << 40) - 1))
                if key not in writers:
                    writers[key] = pa.ipc.new_file(tmp / f"bucket-{key[0]}-{key[1]:06d}.arrow", bucket_schema)
                writers[key].write_table(ex.filter(pa.array(codes == code)))
    finally:
        for w in writers.values():
            w.close()
    sizes = {}
    for code, name in enumerate(sp.SPLIT_NAMES):
        buckets = sorted(k[1] for k in writers if k[0] == code)
        sizes[name] = _write_one_split(tmp, out / f"{name}.parquet", code, buckets)
    return sizes


def _write_one_split(tmp: Path, path: Path, code: int, buckets: list[int]) -> int:
    rows = 0
    with atomic_path(path) as dest:
        writer = pq.ParquetWriter(dest, records.EXAMPLE_SCHEMA, compression="zstd", write_statistics=True)
        pending: list[pa.Table] = []
        pending_rows = 0
        try:
            for b in buckets:
                f = tmp / f"bucket-{code}-{b:06d}.arrow"
                with pa.memory_map(str(f)) as src:
                    t = pa.ipc.open_file(src).read_all()
                t = t.sort_by("rank").drop_columns(["rank"])
                rows += t.num_rows
                pending.append(t)
                pending_rows += t.num_rows
                while pending_rows >= ROW_GROUP_ROWS:
                    whole = pa.concat_tables(pending)
                    writer.write_table(whole.slice(0, ROW_GROUP_ROWS), row_group_size=ROW_GROUP_ROWS)
                    rest = whole.slice(ROW_GROUP_ROWS)
                    pending, pending_rows = [rest], rest.num_rows
                f.unlink()
            if pending_rows or rows == 0:
                whole = pa.concat_tables(pending) if pending else records.EXAMPLE_SCHEMA.empty_table()
                writer.write_table(whole, row_group_size=ROW_GROUP_ROWS)
        finally:
            writer.close()
    return rows


def resolve_tokenizer(spec: str | None, section_tokenizer: str | None, models: list[dict] | None) -> str:
    """--tokenizer, else dataset.tokenizer, else the first model's path."""
    if spec:
        return spec
    if section_tokenizer:
        return section_tokenizer
    if models:
        path = models[0]["path"]
        from editflow.config import REPO_ROOT
        if not Path(path).exists() and (REPO_ROOT / path).exists():
            return str(REPO_ROOT / path)
        return path
    return "whitespace"


def build_dataset(edits: Sequence[str | Path], out: str | Path, section: dict[str, Any],
                  tokenizer: str = "whitespace", skips: Sequence[str | Path] = (),
                  batch_size: int = 20_000, bucket_rows: int = 250_000, plots: bool = True) -> dict[str, Any]:
    """Build DIR/{train,val,test}.parquet, stats.json, plots/ and README.md; return the stats."""
    out = Path(out)
    settings = BuildSettings.from_section(section)
    tasks.configure(section.get("task_settings"))
    check_writable(out, "--out", directory=True)
    counter = make_counter(tokenizer)
    log.info("dataset: %d edits file(s), %d skips file(s), tasks %s, tokenizer %s, max_tokens %s, "
             "near-dup threshold %s -> %s", len(edits), len(skips), ",".join(settings.tasks), counter.name,
             settings.filters.max_tokens, settings.dedup.near_threshold if settings.dedup.near else "off", out)
    # The splits, stats.json, plots and the card are one output: built in a fresh directory that
    # replaces `out` as a unit, so a killed build never leaves new splits beside an old card.
    with output_lock(out, what="editflow dataset"):
        remove_stale_temps(out)
        with atomic_dir(out) as stage:
            return _build_into(stage, edits, section, settings, counter, skips, batch_size, bucket_rows, plots)


def _build_into(out: Path, edits, section, settings: BuildSettings, counter: TokenCounter, skips,
                batch_size: int, bucket_rows: int, plots: bool) -> dict[str, Any]:
    from editflow.dataset import card, stats as st

    tmp = out / TMP_DIR
    tmp.mkdir(parents=True)
    try:
        clock = time.perf_counter()
        skip_counts = count_skips([Path(p) for p in skips])
        with cells.using_format(section.get("cell_format") or cells.default_format()):
            p1 = pass1([Path(p) for p in edits], settings, counter, tmp, batch_size)
        log.info("pass 1 (views, filters, tokens, MinHash): %d edits in %.1f s", p1.edits, time.perf_counter() - clock)
        clock = time.perf_counter()
        meta = pq.read_table(tmp / "candidates.parquet", columns=META_COLUMNS)
        dec = decide(meta, settings, tmp, p1.n_sig)
        log.info("dedup and split: %d candidates in %.1f s", meta.num_rows, time.perf_counter() - clock)
        clock = time.perf_counter()
        sizes = write_splits(tmp, out, dec, batch_size, bucket_rows)
        log.info("sorted split files written in %.1f s", time.perf_counter() - clock)
        stats = st.compute_stats(meta, dec, p1, settings, section, skip_counts, counter.name, sizes)
        if plots:  # tests that do not look at plots skip them (matplotlib is the slow part)
            st.write_plots(meta, dec, stats, out / "plots")
        st.write_stats(stats, out / "stats.json")
        card.write_card(stats, out / "README.md")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return stats
