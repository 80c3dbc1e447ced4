"""Part files that make a long inference job resumable.

Each finished batch is written atomically to `.{out}.parts/batch-NNNNN.parquet` next to the
output. A manifest holds a fingerprint of everything that determines the batches' contents
(settings, model, adapter, prompts in batch order); a rerun with the same fingerprint skips
the batches already on disk, one with another fingerprint discards them. The final file is
assembled from the parts and sorted, so it is byte-identical to an uninterrupted run; the
parts directory is removed once the final file is in place.
"""
from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from editflow.atomic import write_json, write_parquet

log = logging.getLogger(__name__)


def fingerprint(*parts: object) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(json.dumps(part, sort_keys=True, ensure_ascii=False).encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()


def weights_signature(path: str | None) -> object:
    """What identifies a model or adapter directory's weights for the fingerprint.

    Adapters are small: their weight files are hashed. Base model files are large: their
    names, sizes and modification times stand in. A hub id is its own signature.
    """
    if not path:
        return None
    folder = Path(path)
    if not folder.is_dir():
        return str(path)
    sig = []
    for f in sorted(folder.iterdir()):
        if f.suffix in (".safetensors", ".bin", ".json") and f.is_file():
            st = f.stat()
            if st.st_size <= 64 * 1024 * 1024:
                sig.append([f.name, hashlib.sha256(f.read_bytes()).hexdigest()])
            else:
                sig.append([f.name, st.st_size, st.st_mtime_ns])
    return sig


class PartStore:
    def __init__(self, out_path: str | Path, key: str):
        out_path = Path(out_path)
        self.dir = out_path.parent / f".{out_path.name}.parts"
        self.key = key
        manifest = self.dir / "manifest.json"
        if self.dir.exists():
            old = json.loads(manifest.read_text("utf-8")).get("fingerprint") if manifest.exists() else None
            if old != key:
                log.info("discarding parts in %s: they were written with other settings or inputs", self.dir)
                shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        if not manifest.exists():
            write_json({"fingerprint": key}, manifest)

    def path(self, batch: int) -> Path:
        return self.dir / f"batch-{batch:05d}.parquet"

    def done(self, batch: int) -> bool:
        return self.path(batch).exists()

    def write(self, batch: int, table: pa.Table) -> None:
        write_parquet(table, self.path(batch))

    def read(self, batch: int) -> pa.Table:
        return pq.read_table(self.path(batch))

    def finished(self) -> list[int]:
        return sorted(int(p.stem.split("-")[1]) for p in self.dir.glob("batch-*.parquet"))

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
