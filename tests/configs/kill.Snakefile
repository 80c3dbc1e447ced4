# A two-job workflow for tests/test_slurm.py::test_scancel_fails_then_rerun_resumes: a quick job,
# then a slow one that the test cancels with scancel while it runs.
#   snakemake -s tests/configs/kill.Snakefile --profile profiles/slurm-ci --directory DIR


rule all:
    input:
        "b.txt",


rule a:
    output:
        "a.txt",
    shell:
        "date +%s%N > {output}"


rule b:
    input:
        "a.txt",
    output:
        "b.txt",
    params:
        sleep=config.get("sleep", 300),
    shell:
        "touch b.started && sleep {params.sleep} && cat {input} > {output}"
