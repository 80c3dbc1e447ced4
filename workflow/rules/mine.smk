# Stage 2: one job per repository; pygit2 clone-and-diff into Edit and Skip records.


rule mine:
    input:
        repos="results/repos.parquet",
    output:
        edits="results/edits/{repo}.parquet",
        skips="results/edits/{repo}.skips.parquet",
    params:
        settings=settings("mine"),
    threads: res("mine", "threads", 2)
    resources:
        mem_mb=res("mine", "mem_mb", 2000),
        runtime=res("mine", "runtime", 60),
    log:
        "results/logs/mine/{repo}.log",
    conda:
        "../envs/mine.yaml"
    shell:
        "editflow mine --repos-table {input.repos} --slug {wildcards.repo}"
        " --clone-dir results/clones/{wildcards.repo}.git"
        " --out {output.edits} --skips {output.skips} --workers {threads}"
        " --settings {params.settings} > {log} 2>&1"
