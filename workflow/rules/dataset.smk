# Stage 3: filters, dedup, repository-level split, task views, statistics and dataset card.


rule dataset:
    input:
        edits=all_edits,
        skips=all_skips,
        tokenizer=built_model_dirs(tokenizer_for_dataset()),
    output:
        train="results/dataset/train.parquet",
        val="results/dataset/val.parquet",
        test="results/dataset/test.parquet",
        stats="results/dataset/stats.json",
        card=report("results/dataset/README.md", caption="../report/dataset.rst", category="Dataset"),
    params:
        settings=settings("dataset"),
        tokenizer=lambda w: tokenizer_for_dataset(),
    threads: res("dataset", "threads", 2)
    resources:
        mem_mb=res("dataset", "mem_mb", 4000),
        runtime=res("dataset", "runtime", 60),
    log:
        "results/logs/dataset.log",
    conda:
        "../envs/mine.yaml"
    shell:
        "editflow dataset --edits {input.edits} --skips {input.skips} --out results/dataset"
        " --tokenizer {params.tokenizer} --settings {params.settings} > {log} 2>&1"
