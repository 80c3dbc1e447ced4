# Stage 4: LoRA / QLoRA fine-tuning, one job per model x task x run (seed). Resumable: the
# checkpoints/ folder inside the run directory is not a declared output, so Snakemake keeps it
# across a killed job and the rerun continues from the last checkpoint.


rule train:
    input:
        model=model_input,
        train=L.split("train"),
        val=L.split("val"),
    output:
        adapter=f"{L.model_run}/adapter/adapter_config.json",
        log_jsonl=f"{L.model_run}/train_log.jsonl",
        plot=report(f"{L.model_run}/loss.png", caption="../report/loss.rst", category="Training",
                    subcategory="{model} {task} run{run}"),
    params:
        settings=settings("train"),
        path=lambda w: model_path(w.model),
        spec=model_spec,
        dataset=lambda w, input: str(Path(input.train).parent),
        out=lambda w, output: str(Path(output.log_jsonl).parent),
    threads: res("train", "threads")
    resources:
        gpu=res("train", "gpu"),
        mem_mb=res("train", "mem_mb"),
        runtime=res("train", "runtime"),
    log:
        L.log("train/{model}/{task}/run{run}"),
    benchmark:
        f"{L.root}/logs/train/{{model}}/{{task}}/run{{run}}.benchmark.tsv"
    conda:
        "../envs/train.yaml"
    shell:
        logged("{EDITFLOW} train --model {params.path:q} --model-name {wildcards.model} --model-spec {params.spec}"
               " --task {wildcards.task} --run {wildcards.run} --dataset {params.dataset:q} --out {params.out:q}"
               " --threads {threads} --settings {params.settings}")
