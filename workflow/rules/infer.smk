# Stage 5: batched generation. Base models k-shot; fine-tuned adapters zero-shot with the
# fine-tuned template. Resumable from the part files next to the output.


rule infer:
    input:
        model=model_input,
        test="results/dataset/test.parquet",
        train="results/dataset/train.parquet",
        adapter=adapter_input,
    output:
        "results/predictions/{model}/{task}/{shots}shot/{checkpoint}.parquet",
    params:
        settings=settings("infer"),
        path=lambda w: model_path(w.model),
        spec=model_spec,
        adapter=lambda w, input: f"--adapter {Path(input.adapter).parent}" if input.adapter else "",
    threads: res("infer", "threads", 2)
    resources:
        gpu=res("infer", "gpu", 0),
        mem_mb=res("infer", "mem_mb", 8000),
        runtime=res("infer", "runtime", 120),
    log:
        "results/logs/infer/{model}/{task}/{shots}shot/{checkpoint}.log",
    conda:
        "../envs/infer.yaml"
    shell:
        "editflow infer --model {params.path} --model-name {wildcards.model} --model-spec {params.spec} {params.adapter}"
        " --checkpoint {wildcards.checkpoint} --task {wildcards.task} --shots {wildcards.shots}"
        " --dataset results/dataset --out {output} --threads {threads} --settings {params.settings} > {log} 2>&1"
