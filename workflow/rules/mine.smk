# Stage 2: one job per repository; pygit2 clone-and-diff into Edit and Skip records.


rule mine:
    input:
        repos=L.repos,
    output:
        edits=L.edits,
        skips=L.skips,
    params:
        settings=settings("mine"),
        clone=lambda w: L.clone.format(repo=w.repo),
    threads: res("mine", "threads")
    resources:
        mem_mb=res("mine", "mem_mb"),
        runtime=res("mine", "runtime"),
    log:
        L.log("mine/{repo}"),
    benchmark:
        f"{L.root}/logs/mine/{{repo}}.benchmark.tsv"
    conda:
        "../envs/mine.yaml"
    shell:
        logged("{EDITFLOW} mine --repos-table {input.repos:q} --slug {wildcards.repo} --clone-dir {params.clone:q}"
               " --out {output.edits:q} --skips {output.skips:q} --workers {threads} --settings {params.settings}")
