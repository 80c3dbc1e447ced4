"""A training-data mixture for the `instruct` task: mined Python edits and synthetic triplets.

  editflow mix --mined results/default/edits/*.parquet --synthetic results/default/synth/smollm2-135m.parquet \\
      --mined-fraction 1 --synthetic-fraction 0.5 --seed 0 --out results/default/passk/mixes/mixed/edits.parquet

OpenCodeEdit compares fine-tuning on commit data, on synthetic data and on both; here that is a
config (passk.mixes), not code. The output is one edits file (records.EDIT_SCHEMA) that
`editflow dataset` reads like mined edits: the mined `kind == python` rows and the kept rows of
each `editflow synth` file (as edit rows: editflow.synth.editrows), each side a seeded sample
of the given fraction (rows ordered by edit_id first, so the sample does not depend on file
order). FILE.stats.json counts what was available and taken. A mixture with no rows at all is
an error: it could train nothing.
"""
from __future__ import annotations

import argparse
import logging
import random
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import pyarrow as pa
import pyarrow.compute as pc

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MixCounts:
    available: int
    taken: int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mined", nargs="*", default=[], help="edits files of `editflow mine`")
    parser.add_argument("--synthetic", nargs="*", default=[], help="output files of `editflow synth`")
    parser.add_argument("--mined-fraction", type=float, default=1.0, help="share of the mined Python edits (0-1)")
    parser.add_argument("--synthetic-fraction", type=float, default=1.0, help="share of the kept synthetic triplets (0-1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of both samples")
    parser.add_argument("--out", required=True, help="edits Parquet file to write")


def sample(table: pa.Table, fraction: float, seed: int) -> tuple[pa.Table, MixCounts]:
    """round(fraction x rows) rows, drawn with random.Random(seed) from the rows sorted by edit_id."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"a mixture fraction must be within 0..1, got {fraction}")
    ordered = table.sort_by("edit_id")
    n = round(fraction * ordered.num_rows)
    picked = sorted(random.Random(seed).sample(range(ordered.num_rows), n))
    return ordered.take(pa.array(picked, pa.int64())), MixCounts(ordered.num_rows, n)


def mined_python(paths: Sequence[str]) -> pa.Table:
    from editflow.inputs import read_parquet
    from editflow.records import EDIT_SCHEMA, conform_edits

    tables = [conform_edits(read_parquet(p, "edits file", "editflow mine")) for p in paths]
    table = pa.concat_tables(tables) if tables else EDIT_SCHEMA.empty_table()
    return table.filter(pc.equal(table["kind"], "python"))


def synthetic_edits(paths: Sequence[str]) -> pa.Table:
    from editflow.inputs import read_parquet
    from editflow.records import EDIT_SCHEMA
    from editflow.synth.editrows import to_edits

    tables = [to_edits(read_parquet(p, "synth file", "editflow synth")) for p in paths]
    return pa.concat_tables(tables) if tables else EDIT_SCHEMA.empty_table()


def build_mix(mined: Sequence[str], synthetic: Sequence[str], mined_fraction: float,
              synthetic_fraction: float, seed: int) -> tuple[pa.Table, dict]:
    mined_rows, mined_counts = sample(mined_python(mined), mined_fraction, seed)
    synth_rows, synth_counts = sample(synthetic_edits(synthetic), synthetic_fraction, seed)
    table = pa.concat_tables([mined_rows, synth_rows])
    stats = {"mined": asdict(mined_counts) | {"fraction": mined_fraction, "files": len(mined)},
             "synthetic": asdict(synth_counts) | {"fraction": synthetic_fraction, "files": len(synthetic)},
             "edits": table.num_rows, "seed": seed}
    return table, stats


def run(args: argparse.Namespace) -> int:
    from editflow.atomic import write_json, write_parquet
    from editflow.inputs import InputError

    try:
        table, stats = build_mix(args.mined, args.synthetic, args.mined_fraction, args.synthetic_fraction, args.seed)
    except (InputError, ValueError, KeyError) as exc:
        log.error("%s", exc)
        return 2
    if table.num_rows == 0:
        log.error("the mixture is empty (mined %s, synthetic %s): nothing to train on; raise a fraction or "
                  "synthesise more (synth.n)", stats["mined"], stats["synthetic"])
        return 2
    out = Path(args.out)
    write_parquet(table, out)
    write_json(stats, out.with_suffix(".stats.json"))
    print(f"mix: {stats['mined']['taken']} mined + {stats['synthetic']['taken']} synthetic edits -> {out}")
    return 0
