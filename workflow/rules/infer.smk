# Stage 5: batched generation. Base models k-shot; fine-tuned adapters zero-shot with the
# fine-tuned template. Resumable from the part files next to the output.


rule infer:
    input:
        model=model_input,
        test=L.split("test"),
        train=L.split("train"),
        adapter=adapter_input,
    output:
        L.predictions,
    params:
        settings=settings("infer"),
        path=lambda w: model_path(w.model),
        spec=model_spec,
        dataset=lambda w, input: str(Path(input.train).parent),
        adapter=lambda w, input: f"--adapter {shlex.quote(str(Path(input.adapter[0]).parent))}" if input.adapter else "",
    threads: res("infer", "threads")
    resources:
        gpu=res("infer", "gpu"),
        mem_mb=res("infer", "mem_mb"),
        runtime=res("infer", "runtime"),
    log:
        L.log("infer/{model}/{task}/{shots}shot/{checkpoint}"),
    benchmark:
        f"{L.root}/logs/infer/{{model}}/{{task}}/{{shots}}shot/{{checkpoint}}.benchmark.tsv"
    conda:
        "../envs/infer.yaml"
    shell:
        logged("{EDITFLOW} infer --model {params.path:q} --model-name {wildcards.model} --model-spec {params.spec}"
               " {params.adapter} --checkpoint {wildcards.checkpoint} --task {wildcards.task} --shots {wildcards.shots}"
               " --dataset {params.dataset:q} --out {output:q} --threads {threads} --settings {params.settings}")
