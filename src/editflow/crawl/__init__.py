"""The crawl stage: which repositories to mine, each frozen at a head commit.

`editflow crawl` (cli.py) writes results/default/repos.parquet (records.REPO_SCHEMA) from local
paths (local.py) or a GitHub search (github.py), or re-emits a frozen list (table.py).
"""
from editflow.crawl.table import CrawlError, RepoRow

__all__ = ["CrawlError", "RepoRow"]
