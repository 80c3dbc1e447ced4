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
