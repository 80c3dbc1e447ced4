# Stage 1: which repositories. Local paths and generated demo repositories (offline default)
# or a GitHub search (PyGithub, rate-limit aware, throttled by the github_api resource).


rule demo_repos:
    output:
        directory(L.demo_dir),
    params:
        n=DEMO["n_repos"],
        commits=DEMO["commits_per_repo"],
        seed=DEMO["seed"],
    log:
        L.log("demo_repos"),
    conda:
        "../envs/mine.yaml"
    shell:
        logged("{EDITFLOW} demo-repos --out {output:q} --n-repos {params.n} --commits {params.commits} --seed {params.seed}")


checkpoint crawl:
    input:
        demo=L.demo_dir if demo_names() else [],
    output:
        repos=L.repos,
    params:
        settings=settings("crawl"),
        extra=lambda w: " ".join(shlex.quote(f"{L.demo_dir}/{n}.git") for n in demo_names()),
    resources:
        github_api=1,
    log:
        L.log("crawl"),
    conda:
        "../envs/mine.yaml"
    shell:
        logged("{EDITFLOW} crawl --out {output.repos:q} --settings {params.settings}"
               " $(test -n {params.extra:q} && echo --extra-local {params.extra})")
