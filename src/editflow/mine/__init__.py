"""Mining: clone, walk first-parent history, extract notebook and .py edits (see docs/mine.md).

Modules: clone (get a repository), history (commits and relevant changes), renames (git's
own rename pairs, from one `git log`), blobs (read, classify, decode, cache file versions),
catfile (one `git cat-file --batch` read ahead in a
thread), notebook (code cells from JSON), diffstat (line counts), extract (rows of a commit,
read-ahead), writer (streaming Parquet + incremental state), miner (orchestration and
workers), cli (the `editflow mine` verb).
"""
