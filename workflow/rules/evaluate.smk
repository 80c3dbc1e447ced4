# Stage 6: per-example metrics for each prediction file (aggregation: report.smk).


rule score:
    input:
        predictions="results/predictions/{model}/{task}/{shots}shot/{checkpoint}.parquet",
        model=model_input,
    output:
        "results/metrics/{model}/{task}/{shots}shot/{checkpoint}.parquet",
    params:
        settings=settings("evaluate"),
        tokenizer=score_tokenizer,
    threads: res("evaluate", "threads", 2)
    resources:
        mem_mb=res("evaluate", "mem_mb", 4000),
        runtime=res("evaluate", "runtime", 60),
    log:
        "results/logs/score/{model}/{task}/{shots}shot/{checkpoint}.log",
    conda:
        "../envs/eval.yaml"
    shell:
        "editflow score --in {input.predictions} --out {output} --tokenizer {params.tokenizer}"
        " --workers {threads}"
        " --settings {params.settings} > {log} 2>&1"
