# Stage 1: which repositories. Local paths and generated demo repositories (offline default)
# or a GitHub search (PyGithub, rate-limit aware, throttled by the github_api resource).


rule demo_repos:
    output:
        directory(DEMO_DIR),
    params:
        n=DEMO["n_repos"],
        commits=DEMO["commits_per_repo"],
        seed=DEMO["seed"],
    log:
        "results/logs/demo_repos.log",
    conda:
        "../envs/mine.yaml"
    shell:
        "editflow demo-repos --out {output} --n-repos {params.n} --commits {params.commits}"
        " --seed {params.seed} > {log} 2>&1"


checkpoint crawl:
    input:
        demo=DEMO_DIR if demo_names() else [],
    output:
        repos="results/repos.parquet",
    params:
        settings=settings("crawl"),
        extra=lambda w: " ".join(f"{DEMO_DIR}/{n}.git" for n in demo_names()),
    resources:
        github_api=1,
    log:
        "results/logs/crawl.log",
    conda:
        "../envs/mine.yaml"
    shell:
        "editflow crawl --out {output.repos} --settings {params.settings}"
        " $(test -n '{params.extra}' && echo --extra-local {params.extra}) > {log} 2>&1"
