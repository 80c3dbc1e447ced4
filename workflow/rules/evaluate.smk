# Stage 6: per-example metrics for each prediction file (aggregation: report.smk).


rule score:
    input:
        predictions=L.predictions,
        model=model_input,
    output:
        L.scores,
    params:
        settings=settings("evaluate"),
        tokenizer=score_tokenizer,
    threads: res("evaluate", "threads")
    resources:
        mem_mb=res("evaluate", "mem_mb"),
        runtime=res("evaluate", "runtime"),
    log:
        L.log("score/{model}/{task}/{shots}shot/{checkpoint}"),
    conda:
        "../envs/eval.yaml"
    shell:
        logged("{EDITFLOW} score --in {input.predictions:q} --out {output:q} --tokenizer {params.tokenizer:q}"
               " --workers {threads} --settings {params.settings}")
