# Stage 7: aggregate tables and plots, example diffs, and what `snakemake --report` shows.
#   all_scores() (common.smk) lists every scores file of the configured runs.
# The report(...) flags below put the tables, plots and the example-diff page into
# `snakemake --report report.html`; captions live in workflow/report/.


rule aggregate:
    input:
        scores=all_scores,
        stats=f"{L.dataset}/stats.json",
    output:
        tables=report(f"{L.tables}/tables.html", caption="../report/tables.rst",
                      category="Results", labels={"table": "all tables", "format": "HTML"}),
        main_csv=report(f"{L.tables}/main.csv", caption="../report/main_csv.rst",
                        category="Results", labels={"table": "main", "format": "CSV"}),
        main_md=report(f"{L.tables}/main.md", caption="../report/main_md.rst",
                       category="Results", labels={"table": "main", "format": "Markdown"}),
        per_run=report(f"{L.tables}/per_run.csv", caption="../report/per_run.rst",
                       category="Results", labels={"table": "per run", "format": "CSV"}),
        significance_csv=report(f"{L.tables}/significance.csv", caption="../report/significance.rst",
                                category="Results", labels={"table": "significance", "format": "CSV"}),
        significance_md=report(f"{L.tables}/significance.md", caption="../report/significance.rst",
                               category="Results", labels={"table": "significance", "format": "Markdown"}),
        bars=report(f"{L.plots}/main_metrics.png", caption="../report/main_metrics.rst",
                    category="Plots", labels={"plot": "headline metrics with 95% CIs"}),
        distributions=report(f"{L.plots}/distributions.png", caption="../report/distributions.rst",
                             category="Plots", labels={"plot": "per-example EditSim and BLEU"}),
    params:
        settings=settings("evaluate"),
        tables=lambda w, output: str(Path(output.main_csv).parent),
        plots=lambda w, output: str(Path(output.bars).parent),
    threads: res("evaluate", "threads")
    resources:
        mem_mb=res("evaluate", "mem_mb"),
        runtime=res("evaluate", "runtime"),
    log:
        L.log("aggregate"),
    conda:
        "../envs/eval.yaml"
    shell:
        logged("{EDITFLOW} aggregate --scores {input.scores:q} --dataset-stats {input.stats:q} --out-dir {params.tables:q}"
               " --plots-dir {params.plots:q} --workers {threads} --settings {params.settings}")


rule report_examples:
    input:
        scores=all_scores,
    output:
        report(f"{L.report}/examples.html", caption="../report/examples.rst",
               category="Examples", labels={"page": "prediction vs reference diffs"}),
    params:
        n=config["report"]["n_examples"],
    threads: 1
    resources:
        mem_mb=res("evaluate", "mem_mb"),
        runtime=res("evaluate", "runtime"),
    log:
        L.log("report_examples"),
    conda:
        "../envs/eval.yaml"
    shell:
        logged("{EDITFLOW} report --scores {input.scores:q} --out {output:q} --n {params.n}")


rule dataset_card_html:
    input:
        card=f"{L.dataset}/README.md",
        stats=f"{L.dataset}/stats.json",
    output:
        report(f"{L.report}/dataset_card.html", caption="../report/dataset_card.rst",
               category="Dataset", labels={"page": "dataset card"}),
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    log:
        L.log("dataset_card_html"),
    conda:
        "../envs/eval.yaml"
    shell:
        logged("{EDITFLOW} report --markdown {input.card:q} --out {output:q}")
