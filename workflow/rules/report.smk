# Stage 7: aggregate tables and plots, example diffs, and what `snakemake --report` shows.
#   all_scores() (common.smk) lists every scores file of the configured runs.
# The report(...) flags below put the tables, plots and the example-diff page into
# `snakemake --report report.html`; captions live in workflow/report/.


rule aggregate:
    input:
        scores=all_scores,
        stats="results/dataset/stats.json",
    output:
        tables=report("results/tables/tables.html", caption="../report/tables.rst",
                      category="Results", labels={"table": "all tables", "format": "HTML"}),
        main_csv=report("results/tables/main.csv", caption="../report/main_csv.rst",
                        category="Results", labels={"table": "main", "format": "CSV"}),
        main_md=report("results/tables/main.md", caption="../report/main_md.rst",
                       category="Results", labels={"table": "main", "format": "Markdown"}),
        per_run=report("results/tables/per_run.csv", caption="../report/per_run.rst",
                       category="Results", labels={"table": "per run", "format": "CSV"}),
        significance_csv=report("results/tables/significance.csv", caption="../report/significance.rst",
                                category="Results", labels={"table": "significance", "format": "CSV"}),
        significance_md=report("results/tables/significance.md", caption="../report/significance.rst",
                               category="Results", labels={"table": "significance", "format": "Markdown"}),
        bars=report("results/plots/main_metrics.png", caption="../report/main_metrics.rst",
                    category="Plots", labels={"plot": "headline metrics with 95% CIs"}),
        distributions=report("results/plots/distributions.png", caption="../report/distributions.rst",
                             category="Plots", labels={"plot": "per-example EditSim and BLEU"}),
    params:
        settings=settings("evaluate"),
    threads: 1
    resources:
        mem_mb=res("evaluate", "mem_mb", 4000),
        runtime=res("evaluate", "runtime", 60),
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
        report("results/report/examples.html", caption="../report/examples.rst",
               category="Examples", labels={"page": "prediction vs reference diffs"}),
    params:
        n=config["report"]["n_examples"],
    threads: 1
    resources:
        mem_mb=res("evaluate", "mem_mb", 4000),
        runtime=res("evaluate", "runtime", 60),
    log:
        "results/logs/report_examples.log",
    conda:
        "../envs/eval.yaml"
    shell:
        "editflow report --scores {input.scores} --out {output} --n {params.n} > {log} 2>&1"


rule dataset_card_html:
    input:
        card="results/dataset/README.md",
        stats="results/dataset/stats.json",
    output:
        report("results/report/dataset_card.html", caption="../report/dataset_card.rst",
               category="Dataset", labels={"page": "dataset card"}),
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    log:
        "results/logs/dataset_card_html.log",
    conda:
        "../envs/eval.yaml"
    shell:
        "editflow report --markdown {input.card} --out {output} > {log} 2>&1"
