# Stage 3: filters, dedup, repository-level split, task views, statistics and dataset card.


rule dataset:
    input:
        edits=all_edits,
        skips=all_skips,
        tokenizer=built_model_dirs(tokenizer_for_dataset()),
    output:
        train=L.split("train"),
        val=L.split("val"),
        test=L.split("test"),
        stats=f"{L.dataset}/stats.json",
        card=report(f"{L.dataset}/README.md", caption="../report/dataset.rst", category="Dataset"),
    params:
        settings=settings("dataset"),
        tokenizer=lambda w: tokenizer_for_dataset(),
        out=lambda w, output: str(Path(output.stats).parent),
    threads: res("dataset", "threads")
    resources:
        mem_mb=res("dataset", "mem_mb"),
        runtime=res("dataset", "runtime"),
    log:
        L.log("dataset"),
    benchmark:
        f"{L.root}/logs/dataset.benchmark.tsv"
    conda:
        "../envs/mine.yaml"
    shell:
        logged("{EDITFLOW} dataset --edits {input.edits:q} --skips {input.skips:q} --out {params.out:q}"
               " --tokenizer {params.tokenizer:q} --settings {params.settings}")
