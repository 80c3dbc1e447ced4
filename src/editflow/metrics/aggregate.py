"""Aggregate scores files into the paper tables (CSV + Markdown) and plots.

One row per model x task x shots x system, where a system is the base model at k shots,
the fine-tuned model (zero-shot, averaged over runs run1..runK), or `copy_input` (the
pre-edit code scored as the prediction, from the files' `source` column): the number of examples,
and per metric the mean, the standard deviation over runs and a 95% bootstrap CI. Paired
bootstrap tests compare fine-tuned with base zero-shot and the shots settings with each
other on the examples both scored. Resampling is seeded (evaluate.seed), so reruns write
byte-identical files.

Writes OUT_DIR/main.csv, main.md, per_run.csv, significance.csv, significance.md,
tables.html (both Markdown tables as one page, for `snakemake --report`) and
PLOTS_DIR/main_metrics.png, distributions.png.

Example:
  editflow aggregate --scores results/default/metrics/smollm2-135m/nb-cell/*/*.parquet \\
      --out-dir results/default/tables --plots-dir results/default/plots --dataset-stats results/default/dataset/stats.json
"""
from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from editflow.inputs import workers_arg

log = logging.getLogger(__name__)

TABLE_FILES = ("main.csv", "main.md", "per_run.csv", "significance.csv", "significance.md", "tables.html")
PLOT_FILES = ("main_metrics.png", "distributions.png")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scores", nargs="+", required=True, metavar="SCORES.parquet",
                        help="scores files from `editflow score` (any order)")
    parser.add_argument("--out-dir", default="results/default/tables", help="where the tables go (default: %(default)s)")
    parser.add_argument("--plots-dir", default="results/default/plots", help="where the plots go (default: %(default)s)")
    parser.add_argument("--dataset-stats", default=None, metavar="stats.json",
                        help="the dataset's stats.json, summarised in the tables' footer")
    parser.add_argument("--config", default=None, help="a full config file (default config/config.yaml)")
    parser.add_argument("--settings", default=None,
                        help="the `evaluate` section as JSON (bootstrap_samples, seed); overrides --config")
    parser.add_argument("--workers", type=workers_arg, default=0,
                        help="processes that score the copy_input rows (default 0 = all usable cores)")


def check_scores(f) -> None:
    """Refuse a scores file the tables would summarise silently wrong: no rows (a mean over
    nothing), or NaN in a metric column (`editflow score` writes null for a failed value,
    so NaN means the file was not written by it, and NaN would poison every mean and CI)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from editflow.metrics.scorefiles import ScoresError, metric_columns

    if f.n_rows == 0:
        raise ScoresError(f"{f.path}: 0 rows; the predictions were empty or scoring was cut short: "
                          f"rerun `editflow infer` and `editflow score` for it, or leave it out")
    if f.table is None:
        return
    for name in metric_columns(f.table.column_names):
        column = f.table.column(name)
        if not pa.types.is_floating(column.type):
            continue
        nan = pc.fill_null(pc.is_nan(column), False)
        n = pc.sum(pc.cast(nan, pa.int64())).as_py() or 0
        if n:
            first = f.table.column("example_id").filter(nan)[0].as_py()
            raise ScoresError(f"{f.path}: column {name!r} has {n} NaN value(s) (first at example_id "
                              f"{first!r}); editflow score writes null for a failed metric, so this "
                              f"file was not written by it: rerun `editflow score`")


def aggregate(scores: list[str], out_dir: str | Path, plots_dir: str | Path | None,
              n_samples: int = 1000, seed: int = 0, dataset_stats: str | Path | None = None,
              workers: int = 1) -> dict:
    """Compute and write every table (and plot when plots_dir is set); return the rows.

    `workers` processes score the copy_input baseline (prediction = source) per model x task.
    One run per output file at a time (atomic.output_lock); temporary files of a killed
    run are removed first; each file is replaced atomically."""
    from editflow.atomic import output_lock, remove_stale_temps

    outputs = [Path(out_dir) / name for name in TABLE_FILES]
    if plots_dir is not None:
        outputs += [Path(plots_dir) / name for name in PLOT_FILES]
    with output_lock(*outputs, what="editflow aggregate"):
        for path in outputs:
            remove_stale_temps(path)
        return _aggregate(scores, out_dir, plots_dir, n_samples, seed, dataset_stats, workers)


def _aggregate(scores: list[str], out_dir: str | Path, plots_dir: str | Path | None, n_samples: int,
               seed: int, dataset_stats: str | Path | None, workers: int) -> dict:
    from editflow.atomic import write_text
    from editflow.metrics import tables
    from editflow.metrics.scorefiles import load_scores

    files = [load_scores(p) for p in sorted(set(map(str, scores)))]
    files += tables.copy_input_files(files, workers=workers)
    for f in files:
        check_scores(f)
    systems = tables.group_systems(files)
    metrics = tables.table_metrics(systems)
    log.info("aggregating %d scores files into %d systems, %d metrics, %d bootstrap resamples",
             len(files), len(systems), len(metrics), n_samples)
    main = tables.main_rows(systems, metrics, n_samples, seed)
    per_run = tables.per_run_rows(systems, metrics)
    significance = tables.significance_rows(systems, metrics, n_samples, seed)

    extra: list[str] = []
    if dataset_stats:
        path = Path(dataset_stats)
        if not path.exists():
            from editflow.config import ConfigError
            raise ConfigError(f"--dataset-stats {path}: file not found (run `editflow dataset` first)")
        extra = tables.dataset_lines(json.loads(path.read_text(encoding="utf-8")))
    footer = tables.provenance_footer(systems, n_samples, seed, extra)

    out_dir = Path(out_dir)
    main_columns = ["model", "task", "shots", "system", "n_examples", "n_runs", "n_predictions",
                    "truncated", "hit_max_new_tokens", "corpus_bleu"]
    main_columns += [f"{m}_{stat}" for m in metrics for stat in ("mean", "std", "ci_low", "ci_high")]
    run_columns = ["model", "task", "shots", "system", "checkpoint", "n_examples", "n_predictions",
                   "truncated", "hit_max_new_tokens", "corpus_bleu"] + [f"{m}_mean" for m in metrics]
    sig_columns = ["model", "task", "comparison", "system_a", "system_b", "metric", "n_paired",
                   "mean_a", "mean_b", "delta", "delta_ci_low", "delta_ci_high", "p_value"]
    write_text(tables.to_csv(main, main_columns), out_dir / "main.csv")
    write_text(tables.main_markdown(main, metrics, footer), out_dir / "main.md")
    write_text(tables.to_csv(per_run, run_columns), out_dir / "per_run.csv")
    write_text(tables.to_csv(significance, sig_columns), out_dir / "significance.csv")
    write_text(tables.significance_markdown(significance, footer, n_samples), out_dir / "significance.md")
    # The same Markdown as one HTML page: `snakemake --report` displays HTML, not Markdown.
    from editflow.metrics.mdhtml import html_page
    write_text(html_page("editflow results", [tables.main_markdown(main, metrics, footer),
                                              tables.significance_markdown(significance, "", n_samples)]),
               out_dir / "tables.html")

    if plots_dir is not None:
        from editflow.metrics import plots
        plots_dir = Path(plots_dir)
        plots.bar_chart(main, plots_dir / PLOT_FILES[0])
        plots.distribution_plot(systems, plots_dir / PLOT_FILES[1])
    return {"main": main, "per_run": per_run, "significance": significance}


def run(args: argparse.Namespace) -> int:
    from editflow.config import ConfigError, section_from_args
    from editflow.atomic import OutputBusy
    from editflow.metrics.batch import default_workers
    from editflow.procs import forked_children_die_with_parent

    settings = section_from_args(args.config, args.settings, "evaluate")
    forked_children_die_with_parent()  # the copy_input scoring pool must not outlive a kill -9
    try:
        result = aggregate(args.scores, args.out_dir, args.plots_dir,
                           n_samples=int(settings["bootstrap_samples"]), seed=int(settings["seed"]),
                           dataset_stats=args.dataset_stats, workers=args.workers or default_workers())
    except ConfigError:
        raise
    except (ValueError, OutputBusy) as exc:  # ScoresError, duplicate checkpoints: the message names the file
        log.error("%s", exc)
        return 1
    log.info("wrote %d table rows to %s and plots to %s", len(result["main"]), args.out_dir, args.plots_dir)
    return 0
