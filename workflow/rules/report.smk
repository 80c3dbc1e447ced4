# Stage 7: aggregate tables and plots, example diffs, and the Snakemake --report.
# (placeholder written by the lead; the report engineer owns this file)


rule aggregate:
    input:
        scores=all_scores,
        stats="results/dataset/stats.json",
    output:
        main_md="results/tables/main.md",
        main_csv="results/tables/main.csv",
    params:
        settings=settings("evaluate"),
    log:
        "results/logs/aggregate.log",
    conda:
        "../envs/eval.yaml"
    shell:
        "editflow aggregate --scores {input.scores} --dataset-stats {input.stats} --out-dir results/tables"
        " --plots-dir results/plots --settings {params.settings} > {log} 2>&1"


rule report_examples:
    input:
        scores=all_scores,
    output:
        "results/report/examples.html",
    params:
        n=config["report"]["n_examples"],
    log:
        "results/logs/report_examples.log",
    conda:
        "../envs/eval.yaml"
    shell:
        "editflow report --scores {input.scores} --out {output} --n {params.n} > {log} 2>&1"
