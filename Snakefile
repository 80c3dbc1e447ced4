# editflow: git history -> datasets -> LoRA fine-tuning -> batched inference -> metrics -> report.
#   snakemake --cores 2                     the embedded default (offline, CPU, demo repositories)
#   snakemake -n                            show the plan without running anything
#   snakemake --profile profiles/slurm --configfile config/cluster.yaml     a GPU cluster
# All logic lives in src/editflow; every rule calls an `editflow VERB`.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/crawl.smk"
include: "workflow/rules/mine.smk"
include: "workflow/rules/dataset.smk"
include: "workflow/rules/model.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/infer.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/synth.smk"
include: "workflow/rules/benchmark.smk"
include: "workflow/rules/tasktables.smk"


rule all:
    input:
        final_outputs(),
    default_target: True
