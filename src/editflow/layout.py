"""Where every output of the workflow lives: one module for the Snakefile, the CLI and the docs.

All of a run's outputs sit under `results/{run_name}/` (config key `run_name`, default
`default`), so a second configuration never overwrites the first. The patterns below use
Snakemake's wildcard syntax ({repo}, {model}, {task}, {shots}, {checkpoint}, {run}); the rules
import them, and CLI defaults and `editflow summary` resolve them with `Layout.for_run`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

RESULTS = "results"
DEFAULT_RUN = "default"
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Layout:
    """The results tree of one run, as path patterns relative to the working directory."""
    root: str

    @classmethod
    def for_run(cls, run_name: str = DEFAULT_RUN) -> "Layout":
        return cls(f"{RESULTS}/{run_name}")

    # crawl and mine
    @property
    def demo_dir(self) -> str:
        return f"{self.root}/demo"

    @property
    def repos(self) -> str:
        return f"{self.root}/repos.parquet"

    @property
    def edits(self) -> str:
        return f"{self.root}/edits/{{repo}}.parquet"

    @property
    def skips(self) -> str:
        return f"{self.root}/edits/{{repo}}.skips.parquet"

    @property
    def clone(self) -> str:
        return f"{self.root}/clones/{{repo}}.git"

    # dataset
    @property
    def dataset(self) -> str:
        return f"{self.root}/dataset"

    def split(self, name: str) -> str:
        return f"{self.dataset}/{name}.parquet"

    # train, infer, score
    @property
    def model_run(self) -> str:
        return f"{self.root}/models/{{model}}/{{task}}/run{{run}}"

    @property
    def predictions(self) -> str:
        return f"{self.root}/predictions/{{model}}/{{task}}/{{shots}}shot/{{checkpoint}}.parquet"

    @property
    def scores(self) -> str:
        return f"{self.root}/metrics/{{model}}/{{task}}/{{shots}}shot/{{checkpoint}}.parquet"

    # execution-checked benchmarks and pass@k (workflow/rules/benchmark.smk)
    @property
    def benchmark(self) -> str:
        """`editflow benchmark --source {source}`; FILE.stats.json and FILE.README.md beside it."""
        return f"{self.root}/benchmarks/{{source}}.parquet"

    @property
    def benchmark_split(self) -> str:
        """The benchmark as instruct test examples (`editflow bench-split`): a dataset directory."""
        return f"{self.root}/benchmarks/{{source}}"

    @property
    def passk_predictions(self) -> str:
        """{system}: `base`, or `{mix}/run{k}` (an adapter trained on a passk mix)."""
        return f"{self.root}/passk/predictions/{{source}}/{{model}}/{{system}}.parquet"

    @property
    def passk_scores(self) -> str:
        return f"{self.root}/passk/metrics/{{source}}/{{model}}/{{system}}.parquet"

    @property
    def mix_edits(self) -> str:
        return f"{self.root}/passk/mixes/{{mix}}/edits.parquet"

    @property
    def mix_dataset(self) -> str:
        return f"{self.root}/passk/mixes/{{mix}}/dataset"

    @property
    def mix_model_run(self) -> str:
        return f"{self.root}/passk/models/{{model}}/{{mix}}/run{{run}}"

    # synthetic data (workflow/rules/synth.smk)
    @property
    def synth(self) -> str:
        """`editflow synth` of one generator; FILE.stats.json, FILE.README.md, FILE.fig4.png beside it."""
        return f"{self.root}/synth/{{generator}}.parquet"

    # aggregate and report
    @property
    def tables(self) -> str:
        return f"{self.root}/tables"

    @property
    def plots(self) -> str:
        return f"{self.root}/plots"

    @property
    def report(self) -> str:
        return f"{self.root}/report"

    def log(self, name: str) -> str:
        """A job's log file: {root}/logs/NAME.log (NAME may hold wildcards and slashes)."""
        return f"{self.root}/logs/{name}.log"

    def path(self, pattern: str, **wildcards: str) -> Path:
        """A pattern with its wildcards filled in."""
        return Path(pattern.format(**wildcards))


DEFAULT = Layout.for_run()
