# Task tables: Coeditor's Tables 1, 3 and 5 (py-unit and its variants) and the structural-edit
# comparison (py-ast edit script vs py-ast-text one pass); `editflow task-tables` (docs/coeditor.md,
# docs/trees.md). task_table_scores() and task_table_outputs() live at the end of common.smk.


rule task_tables:
    input:
        scores=task_table_scores,
        stats=f"{L.dataset}/stats.json",
        test=L.split("test"),
    output:
        table1=f"{L.tables}/coeditor_table1.md",
        table1_csv=f"{L.tables}/coeditor_table1.csv",
        table3=f"{L.tables}/coeditor_table3.md",
        table3_csv=f"{L.tables}/coeditor_table3.csv",
        table5=f"{L.tables}/coeditor_table5.md",
        table5_csv=f"{L.tables}/coeditor_table5.csv",
        structural=f"{L.tables}/structural.md",
        structural_csv=f"{L.tables}/structural.csv",
    params:
        dataset=lambda w, input: str(Path(input.stats).parent),
        out=lambda w, output: str(Path(output.structural).parent),
        samples=config["evaluate"]["bootstrap_samples"],
        seed=config["evaluate"]["seed"],
    threads: 1
    resources:
        mem_mb=res("evaluate", "mem_mb"),
        runtime=res("evaluate", "runtime"),
    log:
        L.log("task_tables"),
    conda:
        "../envs/eval.yaml"
    shell:
        logged("{EDITFLOW} task-tables --dataset {params.dataset:q} --scores {input.scores:q} --out-dir {params.out:q}"
               " --bootstrap-samples {params.samples} --seed {params.seed}")


# Coeditor's Table 4 (multi-round gains) calls the model once per round: a job per model, with
# the adapter of its first py-unit training run (only when train.tasks has py-unit).
rule coeditor_table4:
    input:
        test=L.split("test"),
        model=model_input,
        adapter=table4_adapter,
    output:
        md=f"{L.tables}/coeditor_table4_{{model}}.md",
        csv=f"{L.tables}/coeditor_table4_{{model}}.csv",
    params:
        dataset=lambda w, input: str(Path(input.test).parent),
        out=lambda w, output: str(Path(output.md).parent),
        model=lambda w: model_path(w.model),
        adapter=lambda w, input: str(Path(input.adapter).parent),
        dtype=lambda w: MODELS[w.model]["dtype"],
        n=config["infer"]["max_test_examples"] or 100,
        max_new_tokens=config["infer"]["max_new_tokens"],
    threads: res("infer", "threads")
    resources:
        mem_mb=res("infer", "mem_mb"),
        runtime=res("infer", "runtime"),
        gpu=res("infer", "gpu"),
    log:
        L.log("coeditor_table4/{model}"),
    conda:
        "../envs/infer.yaml"
    shell:
        logged("{EDITFLOW} task-tables --dataset {params.dataset:q} --out-dir {params.out:q} --rounds-only"
               " --rounds-model {params.model:q} --rounds-adapter {params.adapter:q} --rounds-dtype {params.dtype:q}"
               " --rounds-max-examples {params.n} --rounds-max-new-tokens {params.max_new_tokens}"
               " --rounds-out {output.md:q}")
