"""editflow aggregate: bootstrap CIs, paired significance, table values, byte-identical reruns."""
from __future__ import annotations

import csv
import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from editflow.metrics.bootstrap import paired_bootstrap, percentile_ci, rng_for
from editflow.metrics.scorefiles import METRICS, ScoresError, load_scores

B = 200  # bootstrap resamples in tests: enough for the hand-checked cases, fast on 2 cores


def make_scores(path: Path, *, model="m", task="nb-cell", shots=0, checkpoint="base",
                metrics: dict[str, list[float]] | None = None, n=4, truncated=(), predictions=None,
                prompts=None, references=None, ids=None, with_identity_columns=True,
                metadata: dict | None = None, finish_reasons=None, sources=None) -> Path:
    """A scores file as `editflow score` writes it, with chosen per-example metric values."""
    metrics = metrics or {}
    ids = ids or [f"ex{i:02d}" for i in range(n)]
    n = len(ids)
    cols: dict[str, list] = {"example_id": ids}
    if with_identity_columns:
        cols.update(task=[task] * n, model=[model] * n, checkpoint=[checkpoint] * n, shots=[shots] * n)
    cols.update(
        prompt=prompts or [f'### Instruction:\n[\nCommit Message: "fix {i}"\nOriginal Code:\n\'\'\'\nx = {i}\n\'\'\'\n]\n'
                           f"### Response:\n" for i in range(n)],
        raw_output=predictions or [f"x = {i} + 1" for i in range(n)],
        prediction=predictions or [f"x = {i} + 1" for i in range(n)],
        reference=references or [f"x = {i} + 2" for i in range(n)],
        prompt_tokens=[10] * n, output_tokens=[5] * n,
        truncated=[i in truncated for i in range(n)],
        generation=['{"do_sample": false}'] * n, sample=[0] * n)
    if finish_reasons is not None:
        cols["finish_reason"] = list(finish_reasons)
    if sources is not None:
        cols["source"] = list(sources)
    for m in METRICS:
        cols[m] = [float(v) for v in metrics.get(m, [50.0] * n)]
    table = pa.table(cols)
    meta = metadata if metadata is not None else {
        "editflow": json.dumps({"tokenizer": "whitespace", "corpus_bleu": 12.5,
                                "sacrebleu_signature": "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.4.3",
                                "versions": {"sacrebleu": "2.4.3", "codebleu": "0.7.0"}})}
    table = table.replace_schema_metadata({k.encode(): v.encode() for k, v in meta.items()})
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


# ------------------------------------------------------------------ bootstrap


def test_ci_of_constant_values_is_the_value():
    low, high = percentile_ci(np.full(7, 42.0), B, rng_for(0, "x"))
    assert (low, high) == (42.0, 42.0)


def test_ci_of_empty_is_nan_and_of_one_example_is_that_example():
    low, _ = percentile_ci(np.array([]), B, rng_for(0, "x"))
    assert math.isnan(low)
    assert percentile_ci(np.array([3.0]), B, rng_for(0, "x")) == (3.0, 3.0)


def test_ci_of_zero_hundred_covers_the_mean_and_stays_inside_the_range():
    values = np.array([0.0, 100.0] * 50)
    low, high = percentile_ci(values, 1000, rng_for(0, "x"))
    # the standard error of the mean is 5; a 95% interval is about 50 +- 9.8
    assert 38.0 < low < 45.0 and 55.0 < high < 62.0


def test_ci_is_seeded():
    values = np.arange(20, dtype=float)
    assert percentile_ci(values, B, rng_for(3, "a")) == percentile_ci(values, B, rng_for(3, "a"))
    assert percentile_ci(values, B, rng_for(3, "a")) != percentile_ci(values, B, rng_for(4, "a"))


def test_identical_systems_have_p_one():
    a = np.array([10.0, 20.0, 35.0, 80.0, 0.0])
    res = paired_bootstrap(a, a.copy(), B, rng_for(0, "p"))[0]
    assert res.p_value == 1.0 and res.delta == 0.0 and (res.ci_low, res.ci_high) == (0.0, 0.0)


def test_better_on_every_example_has_smallest_p():
    b = np.array([10.0, 20.0, 35.0, 80.0, 0.0, 5.0])
    res = paired_bootstrap(b + 5.0, b, B, rng_for(0, "p"))[0]
    assert res.p_value == pytest.approx(1 / (B + 1))
    assert res.delta == pytest.approx(5.0) and res.n == 6


def test_better_on_every_example_by_varying_amounts_is_significant():
    rng = np.random.default_rng(1)
    b = rng.uniform(0, 50, 40)
    res = paired_bootstrap(b + rng.uniform(1, 10, 40), b, B, rng_for(0, "p"))[0]
    assert res.p_value < 0.01 and res.ci_low > 0


def test_one_lucky_example_is_not_significant():
    a = np.zeros(10)
    b = np.zeros(10)
    a[3] = 100.0
    res = paired_bootstrap(a, b, 1000, rng_for(0, "p"))[0]
    # P(resample holds example 3 at least twice, so |mean* - 10| >= 10) ~ 0.26, plus those with none
    assert res.p_value > 0.3 and res.delta == 10.0


def test_paired_bootstrap_rejects_unpaired_inputs():
    with pytest.raises(ValueError, match="same examples"):
        paired_bootstrap(np.zeros(3), np.zeros(4), B, rng_for(0, "p"))


# ------------------------------------------------------------------ scores files


def test_identity_from_columns_and_from_path(tmp_path):
    f = load_scores(make_scores(tmp_path / "a.parquet", model="mm", task="nb-file", shots=1, checkpoint="run2"))
    assert (f.model, f.task, f.shots, f.checkpoint, f.run) == ("mm", "nb-file", 1, "run2", 2)
    p = make_scores(tmp_path / "results/metrics/m2/py-file/5shot/base.parquet", with_identity_columns=False)
    f = load_scores(p)
    assert (f.model, f.task, f.shots, f.checkpoint, f.run) == ("m2", "py-file", 5, "base", None)
    assert f.provenance.tokenizer == "whitespace" and f.provenance.corpus_bleu == 12.5


def test_bad_scores_files_name_the_file(tmp_path):
    with pytest.raises(ScoresError, match="not found"):
        load_scores(tmp_path / "nope.parquet")
    bad = tmp_path / "bad.parquet"
    bad.write_text("not parquet")
    with pytest.raises(ScoresError, match="bad.parquet"):
        load_scores(bad)
    pq.write_table(pa.table({"example_id": ["a"], "prediction": ["x"]}), tmp_path / "x.parquet")
    with pytest.raises(ScoresError, match="metric columns"):
        load_scores(tmp_path / "x.parquet")


def test_samples_are_averaged_per_example(tmp_path):
    path = make_scores(tmp_path / "s.parquet", ids=["a", "a", "b"], metrics={"bleu": [10, 30, 50]})
    f = load_scores(path)
    assert f.example_ids == ["a", "b"] and f.values["bleu"].tolist() == [20.0, 50.0]


# ------------------------------------------------------------------ tables


def _three_systems(root: Path) -> list[Path]:
    """base 0-shot, base 1-shot, and a fine-tuned model with runs run1..run3, 4 examples each."""
    d = root / "results/metrics/m/nb-cell"
    return [
        make_scores(d / "0shot/base.parquet", metrics={"bleu": [0, 10, 20, 30], "edit_sim": [40, 40, 40, 40],
                                                        "em": [0, 0, 0, 0]}, truncated=(1,),
                    finish_reasons=["length", "no_room", "stop", "length"]),
        make_scores(d / "1shot/base.parquet", shots=1, metrics={"bleu": [10, 20, 30, 40], "edit_sim": [40, 40, 40, 40],
                                                                 "em": [0, 0, 0, 100]}),
        make_scores(d / "0shot/run1.parquet", checkpoint="run1", metrics={"bleu": [50, 60, 70, 80], "em": [100, 0, 0, 0]}),
        make_scores(d / "0shot/run2.parquet", checkpoint="run2", metrics={"bleu": [60, 70, 80, 90], "em": [100, 100, 0, 0]}),
        make_scores(d / "0shot/run3.parquet", checkpoint="run3", metrics={"bleu": [40, 50, 60, 70], "em": [0, 0, 0, 0]},
                    truncated=(0, 2)),
    ]


@pytest.fixture(scope="module")
def aggregated(tmp_path_factory):
    from editflow.metrics.aggregate import aggregate
    tmp_path = tmp_path_factory.mktemp("aggregated")
    scores = _three_systems(tmp_path)
    aggregate([str(p) for p in scores], tmp_path / "tables", tmp_path / "plots", n_samples=B, seed=0)
    return tmp_path


def test_main_table_values_are_the_means_of_the_inputs(aggregated):
    rows = read_csv(aggregated / "tables/main.csv")
    assert [(r["shots"], r["system"]) for r in rows] == [("0", "base"), ("1", "base"), ("0", "finetuned")]
    base0, base1, ft = rows
    assert base0["bleu_mean"] == "15.0000" and base1["bleu_mean"] == "25.0000"
    assert base0["edit_sim_mean"] == "40.0000" and base0["edit_sim_ci_low"] == "40.0000"
    assert base0["edit_sim_std"] == ""          # one run: no spread
    assert base0["n_examples"] == "4" and base0["n_runs"] == "1" and base0["truncated"] == "1"
    assert base0["hit_max_new_tokens"] == "2" and ft["hit_max_new_tokens"] == "0"
    # fine-tuned: run means 65, 75, 55 -> mean 65, sample std 10
    assert ft["bleu_mean"] == "65.0000" and ft["bleu_std"] == "10.0000"
    assert ft["em_mean"] == f"{np.mean([25, 50, 0]):.4f}" and ft["em_std"] == f"{np.std([25, 50, 0], ddof=1):.4f}"
    assert ft["n_runs"] == "3" and ft["n_examples"] == "4" and ft["truncated"] == "2" and ft["n_predictions"] == "12"
    assert ft["corpus_bleu"] == "12.5000"
    # the CI resamples examples scored by their mean over runs: 50, 60, 70, 80
    low, high = float(ft["bleu_ci_low"]), float(ft["bleu_ci_high"])
    assert 50.0 <= low < 65.0 < high <= 80.0


def test_per_run_table_has_one_row_per_scores_file(aggregated):
    rows = read_csv(aggregated / "tables/per_run.csv")
    assert [(r["checkpoint"], r["bleu_mean"]) for r in rows] == [
        ("base", "15.0000"), ("base", "25.0000"), ("run1", "65.0000"), ("run2", "75.0000"), ("run3", "55.0000")]


def test_significance_compares_finetuned_with_zero_shot_and_the_shots(aggregated):
    rows = read_csv(aggregated / "tables/significance.csv")
    bleu = {r["comparison"]: r for r in rows if r["metric"] == "bleu"}
    assert sorted(bleu) == ["base 1-shot vs base 0-shot", "finetuned 0-shot vs base 0-shot"]
    shots = bleu["base 1-shot vs base 0-shot"]     # better by exactly 10 on every example
    assert shots["delta"] == "10.0000" and shots["n_paired"] == "4"
    assert float(shots["p_value"]) == pytest.approx(1 / (B + 1), abs=1e-4)
    ft = bleu["finetuned 0-shot vs base 0-shot"]   # 65 - 15 = 50 on every example
    assert ft["delta"] == "50.0000" and ft["mean_a"] == "65.0000" and ft["mean_b"] == "15.0000"
    edit = [r for r in rows if r["metric"] == "edit_sim" and r["comparison"].startswith("base")][0]
    assert edit["delta"] == "0.0000" and edit["p_value"] == "1.0000"   # identical systems


def test_markdown_has_the_footer_and_the_table(aggregated):
    md = (aggregated / "tables/main.md").read_text()
    assert "| m | nb-cell | 0 | finetuned | 4 | 3 | " in md
    assert "65.00 ± 10.00 [" in md                          # BLEU of the fine-tuned system
    assert "sacrebleu 2.4.3" in md and "codebleu 0.7.0" in md
    assert "Tokenizer: whitespace" in md
    assert "`nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.4.3`" in md
    assert ("Truncated: 3 of 20 predictions had a prompt that left no room to generate (`truncated`, scored "
            "as empty); 2 hit max_new_tokens (`finish_reason` = length)") in md
    assert "| m | nb-cell | 0 | base | 50.00 [50.00, 50.00] |" in md and "| 1 / 4 | 2 / 4 |" in md
    assert f"Bootstrap: {B} resamples" in md
    sig = (aggregated / "tables/significance.md").read_text()
    assert "| m | nb-cell | base 1-shot vs base 0-shot | BLEU | 4 | 25.00 | 15.00 | +10.00 |" in sig
    assert "## Provenance" in sig


def test_plots_are_pngs(aggregated):
    for name in ("main_metrics.png", "distributions.png"):
        assert (aggregated / "plots" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_reruns_are_byte_identical_whatever_the_input_order(tmp_path):
    from editflow.metrics.aggregate import aggregate
    scores = [str(p) for p in _three_systems(tmp_path)]
    aggregate(scores, tmp_path / "t1", tmp_path / "p1", n_samples=B, seed=0)
    aggregate(scores[::-1], tmp_path / "t2", tmp_path / "p2", n_samples=B, seed=0)
    assert digest(tmp_path / "t1") == digest(tmp_path / "t2")
    assert digest(tmp_path / "p1") == digest(tmp_path / "p2")
    aggregate(scores, tmp_path / "t3", None, n_samples=B, seed=1)
    assert digest(tmp_path / "t1")["main.csv"] != digest(tmp_path / "t3")["main.csv"]


def test_cli_reads_settings_and_dataset_stats(tmp_path, capsys):
    from editflow.cli import main
    scores = [str(p) for p in _three_systems(tmp_path)]
    stats = tmp_path / "stats.json"
    stats.write_text(json.dumps({"n_edits": 120, "splits": {"test": 12, "train": 90}, "nested": {"a": {"b": 1}}}))
    rc = main(["aggregate", "--scores", *scores, "--out-dir", str(tmp_path / "t"), "--plots-dir",
               str(tmp_path / "p"), "--dataset-stats", str(stats),
               "--settings", json.dumps({"bootstrap_samples": 50, "seed": 7})])
    assert rc == 0
    md = (tmp_path / "t/main.md").read_text()
    assert "Bootstrap: 50 resamples of the examples, seed 7" in md
    assert "Dataset (stats.json): n_edits: 120, splits.test: 12, splits.train: 90" in md


def test_copy_input_row_scores_the_source_as_the_prediction(tmp_path):
    """Every model x task whose files carry `source` gets a copy_input row: the metrics of
    prediction = source against the reference, scored here with the files' tokenizer."""
    from editflow.metrics.aggregate import aggregate
    d = tmp_path / "results/metrics/m/nb-cell"
    sources = ["x = 1\ny = 2", "z = 0"]
    references = ["x = 1\ny = 3", "z = 0"]          # ex01: the commit did not change it
    common = dict(ids=["ex00", "ex01"], sources=sources, references=references)
    files = [make_scores(d / "0shot/base.parquet", metrics={"bleu": [10, 20], "em": [0, 0]}, **common),
             make_scores(d / "0shot/run1.parquet", checkpoint="run1", metrics={"bleu": [90, 100], "em": [100, 0]},
                         **common)]
    aggregate([str(p) for p in files], tmp_path / "t", None, n_samples=B, seed=0)
    rows = read_csv(tmp_path / "t/main.csv")
    assert [r["system"] for r in rows] == ["base", "finetuned", "copy_input"]
    copy = rows[2]
    assert (copy["model"], copy["task"], copy["shots"], copy["n_examples"], copy["n_runs"]) == (
        "m", "nb-cell", "0", "2", "1")
    # ex00, whitespace tokens x = 1 y = 2 vs x = 1 y = 3: p1 = 5/6 and (method2, +1 for n >= 2)
    # p2 = (4+1)/(5+1), p3 = (3+1)/(4+1), p4 = (2+1)/(3+1); ex01 is identical: 100
    bleu0 = 100 * (5 / 6 * 5 / 6 * 4 / 5 * 3 / 4) ** 0.25
    assert float(copy["bleu_mean"]) == pytest.approx((bleu0 + 100) / 2, abs=1e-4)
    assert copy["em_mean"] == "50.0000"               # only the unchanged example matches
    assert copy["diff_em_mean"] == "50.0000"          # ... and there "no change" is the right diff
    assert copy["changed_mean"] == "0.0000"           # copying never changes anything
    assert copy["keystroke_mean"] == "3.0000"         # ex00: C(4) + D + A = 6; ex01: 0
    assert copy["levenshtein_mean"] == "0.5000"
    sig = {(r["comparison"], r["metric"]): r for r in read_csv(tmp_path / "t/significance.csv")}
    vs_copy = sig[("finetuned 0-shot vs copy_input", "bleu")]
    assert vs_copy["mean_a"] == "95.0000" and float(vs_copy["mean_b"]) == pytest.approx((bleu0 + 100) / 2, abs=1e-4)
    md = (tmp_path / "t/main.md").read_text()
    assert "| m | nb-cell | 0 | copy_input | 2 | 1 |" in md
    # the copy rows are not predictions: the footer counts only the models' files
    assert "Truncated: 0 of 4 predictions" in md and "2 scores files" in md


def test_no_source_column_no_copy_input_row(aggregated):
    rows = read_csv(aggregated / "tables/main.csv")
    assert "copy_input" not in {r["system"] for r in rows}


def test_duplicate_checkpoints_are_an_error(tmp_path):
    from editflow.cli import main
    a = make_scores(tmp_path / "a.parquet")
    b = make_scores(tmp_path / "b.parquet")
    rc = main(["aggregate", "--scores", str(a), str(b), "--out-dir", str(tmp_path / "t"),
               "--settings", json.dumps({"bootstrap_samples": 10})])
    assert rc == 1 and not (tmp_path / "t/main.csv").exists()


def test_missing_provenance_falls_back_to_installed_versions(tmp_path):
    from editflow.metrics.aggregate import aggregate
    p = make_scores(tmp_path / "x/m/nb-cell/0shot/base.parquet", metadata={})
    aggregate([str(p)], tmp_path / "t", None, n_samples=10, seed=0)
    md = (tmp_path / "t/main.md").read_text()
    assert "installed now): sacrebleu " in md and "Tokenizer: not recorded" in md
    assert read_csv(tmp_path / "t/main.csv")[0]["corpus_bleu"] == ""


def test_tables_html_is_the_markdown_escaped(aggregated):
    page = (aggregated / "tables/tables.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    assert '<td class="r">65.00 ± 10.00<br><span class="ci">[' in page
    assert "<h2>Provenance</h2>" in page and page.count("<h2>Provenance</h2>") == 1
    assert "<code>nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.4.3</code>" in page
    assert "# Paired bootstrap significance" not in page and "<h1>Paired bootstrap significance</h1>" in page


def test_markdown_to_html_escapes_and_splits_escaped_pipes():
    from editflow.metrics.mdhtml import markdown_to_html
    out = markdown_to_html("| a | b |\n|---|--:|\n| <script>x</script> | 1 \\| 2 |\n\n- `<b>` and *it*")
    assert "<td>&lt;script&gt;x&lt;/script&gt;</td>" in out and '<td class="r">1 | 2</td>' in out
    assert "<li><code>&lt;b&gt;</code> and <em>it</em></li>" in out


def test_dataset_line_from_editflow_stats_flags_demo_data():
    from editflow.metrics.tables import dataset_lines
    stats = {"demo_data": True, "split_method": "repository",
             "inputs": {"repositories": 4, "commits": 160, "edits": 347},
             "splits": {"test": {"by_task": {"nb-file": {"examples": 18}, "nb-cell": {"examples": 14}}}}}
    lines = dataset_lines(stats)
    assert lines[0] == ("- Dataset (stats.json): 4 repositories, 160 commits, 347 edits; split: repository; "
                        "test examples per task: nb-cell 14, nb-file 18")
    assert lines[1].startswith("- **Demo data**")
    assert dataset_lines({**stats, "demo_data": False})[1:] == []
