# Synthetic instruction-following edits (OpenCodeEdit): one job per generator model (synth.generators)
# draws seed snippets from the mined repositories' clones and writes R/synth/{generator}.parquet
# (every row, kept or with its drop_reason) with its stats, card and figure. passk.mixes train on it.


wildcard_constraints:
    generator="|".join(re.escape(g) for g in SYNTH_GENERATORS) or "no-generator",


rule synth:
    input:
        model=lambda w: built_model_dirs(SYNTH_GENERATORS[w.generator]),
        mined=all_edits,
    output:
        rows=L.synth,
        stats=L.synth.replace(".parquet", ".stats.json"),
        card=L.synth.replace(".parquet", ".README.md"),
    params:
        settings=synth_settings(),
        path=lambda w: SYNTH_GENERATORS[w.generator],
        repos=lambda w: " ".join(shlex.quote(p) for p in synth_repos()),
    threads: res("synth", "threads")
    resources:
        gpu=res("synth", "gpu"),
        mem_mb=res("synth", "mem_mb"),
        runtime=res("synth", "runtime"),
    log:
        L.log("synth/{generator}"),
    benchmark:
        f"{L.root}/logs/synth/{{generator}}.benchmark.tsv"
    conda:
        "../envs/infer.yaml"
    shell:
        logged("{EDITFLOW} synth --repos {params.repos} --model {params.path:q} --generator-name {wildcards.generator}"
               " --mined {input.mined:q} --out {output.rows:q} --threads {threads} --settings {params.settings}")
