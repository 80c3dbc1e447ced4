# Execution-checked edit evaluation (CanItEdit / OpenCodeEdit protocol): benchmark problems ->
# instruct test examples -> n samples per problem and instruction style (base models, and
# adapters trained on passk.mixes of mined and synthetic edits) -> sandboxed tests -> pass@k table.


wildcard_constraints:
    source="humaneval-edit|canitedit",
    system=r"base|[A-Za-z0-9._-]+/run\d+",
    mix=r"[A-Za-z0-9._-]+",


rule benchmark:
    input:
        canitedit=lambda w: [BENCH["canitedit_file"]] if w.source == "canitedit" else [],
    output:
        problems=L.benchmark,
        stats=L.benchmark.replace(".parquet", ".stats.json"),
        card=L.benchmark.replace(".parquet", ".README.md"),
    params:
        settings=benchmark_settings,
        source_file=lambda w, input: f"--in {shlex.quote(input.canitedit[0])}" if input.canitedit else "",
    threads: res("benchmark", "threads")
    resources:
        mem_mb=res("benchmark", "mem_mb"),
        runtime=res("benchmark", "runtime"),
    log:
        L.log("benchmark/{source}"),
    benchmark:
        f"{L.root}/logs/benchmark/{{source}}.benchmark.tsv"
    conda:
        "../envs/eval.yaml"
    shell:
        logged("{EDITFLOW} benchmark --source {wildcards.source} {params.source_file} --out {output.problems:q}"
               " --workers {threads} --settings {params.settings}")


rule benchmark_split:
    input:
        L.benchmark,
    output:
        f"{L.benchmark_split}/test.parquet",
    params:
        out=lambda w, output: str(Path(output[0]).parent),
    log:
        L.log("benchmark_split/{source}"),
    conda:
        "../envs/eval.yaml"
    shell:
        logged("{EDITFLOW} bench-split --benchmark {input:q} --out {params.out:q}")


rule passk_mix:
    input:
        mined=lambda w: all_edits() if MIXES[w.mix]["mined"] > 0 else [],
        synthetic=lambda w: synth_files() if MIXES[w.mix]["synthetic"] > 0 else [],
    output:
        edits=L.mix_edits,
        stats=L.mix_edits.replace(".parquet", ".stats.json"),
    params:
        files=lambda w, input: " ".join(f"--{side} " + " ".join(shlex.quote(f) for f in input[side])
                                        for side in ("mined", "synthetic") if input[side]),
        mined=lambda w: MIXES[w.mix]["mined"],
        synthetic=lambda w: MIXES[w.mix]["synthetic"],
        seed=PASSK["seed"],
    log:
        L.log("passk_mix/{mix}"),
    conda:
        "../envs/mine.yaml"
    shell:
        logged("{EDITFLOW} mix {params.files} --mined-fraction {params.mined}"
               " --synthetic-fraction {params.synthetic} --seed {params.seed} --out {output.edits:q}")


rule passk_dataset:
    input:
        edits=L.mix_edits,
        tokenizer=built_model_dirs(tokenizer_for_dataset()),
    output:
        train=f"{L.mix_dataset}/train.parquet",
        val=f"{L.mix_dataset}/val.parquet",
        stats=f"{L.mix_dataset}/stats.json",
    params:
        settings=settings_over("dataset", {"tasks": [PASSK["task"]]}),
        tokenizer=lambda w: tokenizer_for_dataset(),
        out=lambda w, output: str(Path(output.stats).parent),
    threads: res("dataset", "threads")
    resources:
        mem_mb=res("dataset", "mem_mb"),
        runtime=res("dataset", "runtime"),
    log:
        L.log("passk_dataset/{mix}"),
    conda:
        "../envs/mine.yaml"
    shell:
        logged("{EDITFLOW} dataset --edits {input.edits:q} --out {params.out:q} --tokenizer {params.tokenizer:q}"
               " --settings {params.settings}")


rule passk_train:
    input:
        model=model_input,
        train=f"{L.mix_dataset}/train.parquet",
        val=f"{L.mix_dataset}/val.parquet",
    output:
        adapter=f"{L.mix_model_run}/adapter/adapter_config.json",
        log_jsonl=f"{L.mix_model_run}/train_log.jsonl",
    params:
        task=PASSK["task"],
        settings=settings_over("train", PASSK["train"]),
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
        L.log("passk_train/{model}/{mix}/run{run}"),
    benchmark:
        f"{L.root}/logs/passk_train/{{model}}/{{mix}}/run{{run}}.benchmark.tsv"
    conda:
        "../envs/train.yaml"
    shell:
        logged("{EDITFLOW} train --model {params.path:q} --model-name {wildcards.model} --model-spec {params.spec}"
               " --task {params.task} --run {wildcards.run} --dataset {params.dataset:q} --out {params.out:q}"
               " --threads {threads} --settings {params.settings}")


rule passk_infer:
    input:
        model=model_input,
        test=f"{L.benchmark_split}/test.parquet",
        adapter=passk_adapter,
    output:
        L.passk_predictions,
    params:
        task=PASSK["task"],
        settings=settings_over("infer", {"do_sample": True, "temperature": PASSK["temperature"],
                                         "top_p": PASSK["top_p"], "n_samples": PASSK["n_samples"],
                                         "max_new_tokens": PASSK["max_new_tokens"], "max_test_examples": None}),
        path=lambda w: model_path(w.model),
        spec=model_spec,
        dataset=lambda w, input: str(Path(input.test).parent),
        adapter=lambda w, input: f"--adapter {shlex.quote(str(Path(input.adapter[0]).parent))}" if input.adapter else "",
        checkpoint=lambda w: "base" if w.system == "base" else w.system.split("/")[-1],
    threads: res("infer", "threads")
    resources:
        gpu=res("infer", "gpu"),
        mem_mb=res("infer", "mem_mb"),
        runtime=res("infer", "runtime"),
    log:
        L.log("passk_infer/{source}/{model}/{system}"),
    benchmark:
        f"{L.root}/logs/passk_infer/{{source}}/{{model}}/{{system}}.benchmark.tsv"
    conda:
        "../envs/infer.yaml"
    shell:
        logged("{EDITFLOW} infer --model {params.path:q} --model-name {wildcards.model} --model-spec {params.spec}"
               " {params.adapter} --checkpoint {params.checkpoint} --task {params.task} --shots 0"
               " --dataset {params.dataset:q} --out {output:q} --threads {threads} --settings {params.settings}")


rule passk_score:
    input:
        predictions=L.passk_predictions,
        model=model_input,
    output:
        L.passk_scores,
    params:
        settings=settings_over("evaluate", {"pass_k": PASSK["pass_k"]}),
        tokenizer=score_tokenizer,
    threads: res("evaluate", "threads")
    resources:
        mem_mb=res("evaluate", "mem_mb"),
        runtime=res("evaluate", "runtime"),
    log:
        L.log("passk_score/{source}/{model}/{system}"),
    benchmark:
        f"{L.root}/logs/passk_score/{{source}}/{{model}}/{{system}}.benchmark.tsv"
    conda:
        "../envs/eval.yaml"
    shell:
        logged("{EDITFLOW} score --in {input.predictions:q} --out {output:q} --tokenizer {params.tokenizer:q}"
               " --workers {threads} --settings {params.settings}")


rule passk_table:
    input:
        scores=passk_score_files,
    output:
        md=report(f"{L.tables}/passk.md", caption="../report/passk.rst", category="Results",
                  labels={"table": "pass@k", "format": "Markdown"}),
        csv=f"{L.tables}/passk.csv",
    params:
        labels=passk_labels(),
        ks=PASSK["pass_k"],
        out=lambda w, output: str(Path(output.md).parent),
    threads: 1
    log:
        L.log("passk_table"),
    conda:
        "../envs/eval.yaml"
    shell:
        logged("{EDITFLOW} passk-table --scores {input.scores:q} --labels {params.labels:q} --pass-k {params.ks}"
               " --out-dir {params.out:q}")
