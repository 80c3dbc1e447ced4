"""Streaming, deterministic Parquet output for edits, and the state incremental runs read.

Rows are buffered and flushed as a row group as soon as the buffer holds at least
ROW_GROUP_BYTES of text or ROW_GROUP_ROWS rows (also inside a commit: one commit may add
hundreds of large notebooks). The boundaries depend only on the sequence of rows, so a full mine and an incremental one (which copies
the closed row groups of the previous file and re-buffers its last, still open one) write
byte-identical files. The run's state (head, commit count, settings fingerprint) lives in
the Parquet key-value metadata of both outputs, so there is no sidecar that a kill could
leave out of step with the data.
"""
from __future__ import annotations

import json
import queue
import struct
import threading
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from editflow.records import EDIT_SCHEMA, SKIP_SCHEMA

META_KEY = b"editflow.mine"
SOURCE_COLUMNS = ("old_source", "new_source")
ROW_GROUP_BYTES = 8 << 20
ROW_GROUP_ROWS = 20_000
RELEASE_EVERY = 4  # row groups between handing Arrow's freed memory back to the OS
# Dictionary pages and min/max statistics pay off for the short columns only; on
# multi-megabyte source texts they cost a third of the write time and help no reader.
_SHORT = ["edit_id", "repo", "commit", "parent", "commit_time", "path", "old_path", "change_type", "kind",
          "lines_added", "lines_deleted", "hunks", "license"]
WRITE_OPTIONS = {"compression": "zstd", "use_dictionary": _SHORT, "write_statistics": _SHORT}
SKIP_WRITE_OPTIONS = {"compression": "zstd", "write_statistics": True}


def row_cost(row: dict) -> int:
    cost = 256
    for key in ("old_source", "new_source", "message"):
        if row.get(key):
            cost += len(row[key])
    for key in ("old_cells", "new_cells", "old_markdown", "new_markdown"):
        if row.get(key):
            cost += sum(map(len, row[key]))
    return cost


def rows_to_table(rows: list[dict]) -> pa.Table:
    """EDIT_SCHEMA table of edit rows, laid out as `normalize` would."""
    columns = []
    for field in EDIT_SCHEMA:
        values = [r[field.name] for r in rows]
        if field.name in SOURCE_COLUMNS:
            columns.append(pa.chunked_array([_one_source(v) for v in values] or [_NULL_SOURCE[:0]], pa.string()))
        else:
            columns.append(pa.chunked_array([pa.array(values, field.type)]))
    return pa.Table.from_arrays(columns, schema=EDIT_SCHEMA)


_NULL_SOURCE = pa.array([None], pa.string())


def _one_source(value: bytes | str | None) -> pa.Array:
    """A one-value string array over the row's own bytes: no copy of a multi-megabyte
    text into Arrow memory (the Parquet writer reads it where it is). Sources arrive as
    UTF-8 bytes already validated by the decoder or orjson; str (rows carried over from
    a previous output) is encoded."""
    if value is None:
        return _NULL_SOURCE
    if isinstance(value, str):
        value = value.encode("utf-8")
    offsets = pa.py_buffer(struct.pack("<ii", 0, len(value)))
    return pa.Array.from_buffers(pa.string(), 1, [None, offsets, pa.py_buffer(value)])


def normalize(table: pa.Table) -> pa.Table:
    """One chunk per value in the source columns, one chunk in every other column.

    The Parquet writer may close a page at a chunk boundary, so the layout has to be a
    function of the values alone for a full and an incremental mine to write the same
    bytes; one chunk per source value also lets the writer read each text in place."""
    columns = []
    for name in table.column_names:
        col = table.column(name)
        if name in SOURCE_COLUMNS:
            if col.num_chunks != len(col) or any(len(c) != 1 for c in col.chunks):
                flat = col.combine_chunks()
                col = pa.chunked_array([flat.slice(i, 1) for i in range(len(flat))] or [flat], col.type)
        elif col.num_chunks != 1:
            col = pa.chunked_array([col.combine_chunks()], col.type)
        columns.append(col)
    return pa.Table.from_arrays(columns, schema=table.schema)


@dataclass(frozen=True)
class MineState:
    head: str | None
    n_commits: int
    fingerprint: str
    complete_history: bool = True

    def to_meta(self) -> dict[bytes, bytes]:
        return {META_KEY: json.dumps(self.__dict__, sort_keys=True).encode()}

    @staticmethod
    def from_schema(schema: pa.Schema) -> "MineState | None":
        raw = (schema.metadata or {}).get(META_KEY)
        if raw is None:
            return None
        try:
            return MineState(**json.loads(raw))
        except (TypeError, ValueError):
            return None


def read_state(path: str | Path) -> MineState | None:
    """The state stored in a previous output, or None if absent or unreadable."""
    try:
        return MineState.from_schema(pq.read_schema(path))
    except (OSError, pa.ArrowException):
        return None


class EditWriter:
    """Write EDIT_SCHEMA rows to `path` in content-determined row groups."""

    def __init__(self, path: Path, state: MineState) -> None:
        self.writer = pq.ParquetWriter(path, EDIT_SCHEMA.with_metadata(state.to_meta()), **WRITE_OPTIONS)
        self.buffer: list[dict] = []
        self.cost = 0
        self.rows_written = 0
        # Encoding + zstd of a row group runs in C++ without the GIL: a writer thread
        # overlaps it with the extraction of the next commits. One group queued at most.
        self.queue: queue.Queue = queue.Queue(maxsize=1)
        self.groups = 0
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._drain, name="edit-writer", daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        while True:
            table = self.queue.get()
            if table is None:
                return
            if self.error is None:
                try:
                    self.writer.write_table(table, row_group_size=max(1, table.num_rows))
                    # Arrow's allocator keeps freed pages; handing them back cut peak RSS on
                    # handson-ml3 from 560 to 400 MB, but the pages then fault in (zeroed)
                    # again: after every group that was ~0.15 s of zstd-bound writer time on
                    # the generated history, after every 4th it is a third of that (+15 MB)
                    del table
                    self.groups += 1
                    if self.groups % RELEASE_EVERY == 0:
                        pa.default_memory_pool().release_unused()
                except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                    self.error = exc

    def carry_over(self, previous: Path) -> None:
        """Copy the closed row groups of a previous output; re-buffer its last one."""
        pf = pq.ParquetFile(previous)
        n = pf.num_row_groups
        for i in range(n):
            table = pf.read_row_group(i).cast(EDIT_SCHEMA)
            if i < n - 1:
                self._write(table)
                continue
            rows = table.to_pylist()
            cost = sum(row_cost(r) for r in rows)
            if cost >= ROW_GROUP_BYTES or len(rows) >= ROW_GROUP_ROWS:
                self._write(table)
            else:
                self.buffer, self.cost = rows, cost

    def add_row(self, row: dict) -> None:
        self.buffer.append(row)
        self.cost += row_cost(row)
        if self.cost >= ROW_GROUP_BYTES or len(self.buffer) >= ROW_GROUP_ROWS:
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            self._write(rows_to_table(self.buffer))
        self.buffer, self.cost = [], 0

    def _write(self, table: pa.Table) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(normalize(table))
        self.rows_written += table.num_rows

    def abort(self) -> None:
        """Stop the writer thread after a failure elsewhere (the temp file is then dropped)."""
        self.error = self.error or RuntimeError("aborted")
        self.queue.put(None)
        self.thread.join()
        self.writer.close()

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self.queue.put(None)
            self.thread.join()
        if self.error is not None:
            raise self.error
        self.writer.close()


def write_skips(rows: list[dict], path: Path, state: MineState) -> None:
    table = pa.Table.from_pylist(rows, schema=SKIP_SCHEMA.with_metadata(state.to_meta()))
    pq.write_table(table, path, **SKIP_WRITE_OPTIONS)
