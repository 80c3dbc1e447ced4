"""Mining: clone, walk first-parent history, extract notebook and .py edits (see docs/mine.md).

Modules: clone (get a repository), history (commits; libgit2's tree diff where git cannot
tell), gitlog (a `git log` read commit by commit beside the miner), changes (each commit's
changes, renames paired, from git), pydiff (`.py` line counts from `git log -p`), blobs
(read, classify, decode, cache file versions), catfile (`git cat-file --batch`: read ahead
in a thread for notebooks, pipelined for small files), notebook (code cells from JSON),
diffstat (line counts by libgit2), extract (rows of a commit, read-ahead), writer
(streaming Parquet + incremental state), miner (orchestration and workers), cli (the
`editflow mine` verb).
"""
