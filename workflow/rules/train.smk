# Stage 4: LoRA / QLoRA fine-tuning, one job per model x task x run (seed). Resumable: the
# checkpoints/ folder inside the run directory is not a declared output, so Snakemake keeps it
# across a killed job and the rerun continues from the last checkpoint.


rule train:
    input:
        model=model_input,
        train="results/dataset/train.parquet",
        val="results/dataset/val.parquet",
    output:
        adapter="results/models/{model}/{task}/run{run}/adapter/adapter_config.json",
        log_jsonl="results/models/{model}/{task}/run{run}/train_log.jsonl",
        plot=report("results/models/{model}/{task}/run{run}/loss.png", caption="../report/loss.rst", category="Training",
                    subcategory="{model} {task} run{run}"),
    params:
        settings=settings("train"),
        path=lambda w: model_path(w.model),
        spec=model_spec,
        out=lambda w, output: str(Path(output.log_jsonl).parent),
    threads: res("train", "threads", 2)
    resources:
        gpu=res("train", "gpu", 0),
        mem_mb=res("train", "mem_mb", 8000),
        runtime=res("train", "runtime", 120),
    log:
        "results/logs/train/{model}/{task}/run{run}.log",
    conda:
        "../envs/train.yaml"
    shell:
        "editflow train --model {params.path} --model-name {wildcards.model} --model-spec {params.spec} --task {wildcards.task}"
        " --run {wildcards.run} --dataset results/dataset --out {params.out}"
        " --threads {threads} --settings {params.settings} > {log} 2>&1"
