"""List the repositories to mine, frozen at a head commit, into repos.parquet (REPO_SCHEMA).

Sources (config section `crawl`):
  local   git repositories on disk, bare or with a work tree (crawl.local.paths, plus the
          demo repositories the workflow generates and passes with --extra-local).
          full_name is local/<directory name>; license is guessed from a LICENSE/COPYING
          file; head_sha is the current HEAD (null, with a warning, for an empty repository).
  github  PyGithub search (crawl.github: query, min_stars, top_n, licenses allow-list).
          The token is read from the GITHUB_TOKEN environment variable only. top_n above
          GitHub's 1,000-results-per-query cap works: the search walks down star ranges.
          Rate limits (403/429) are waited out, 5xx retried with backoff.
  frozen  crawl.frozen_list: PATH re-emits (after validation) a repos.parquet from an earlier
          crawl instead of crawling, so a rerun months later mines the same commits.

Output rows are sorted by full_name.

Examples:
  editflow crawl --out results/default/repos.parquet                      # config/config.yaml
  editflow crawl --out repos.parquet --settings '{"source": "local", "local": {"paths": ["/data/a.git", "/src/b"]}}'
  GITHUB_TOKEN=... editflow crawl --out results/default/repos.parquet --config config/cluster.yaml
  editflow crawl --out repos.parquet --settings '{"source": "github", "github": {"query": "language:\\"Jupyter Notebook\\" pytorch", "min_stars": 200, "top_n": 2500}}'
  editflow crawl --out repos.parquet --settings '{"frozen_list": "data/repos-2026-01.parquet"}'
"""
from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter

from editflow.crawl.table import CrawlError, RepoRow, read_frozen_list, rows_to_table

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="output Parquet (REPO_SCHEMA), e.g. results/default/repos.parquet")
    parser.add_argument("--config", default=None, help="full config YAML (default: config/config.yaml)")
    parser.add_argument("--settings", default=None,
                        help="the `crawl` config section as JSON (what the Snakemake rule passes)")
    parser.add_argument("--extra-local", nargs="*", default=[], metavar="PATH",
                        help="more local repository paths, appended to crawl.local.paths "
                             "(the workflow passes its generated demo repositories here)")
    parser.add_argument("--allow-http-token", action="store_true",
                        help="send GITHUB_TOKEN even to a plain-http crawl.github.base_url "
                             "(refused by default: it would travel unencrypted)")


def collect_rows(section: dict, extra_local: list[str] | None = None,
                 allow_http_token: bool = False) -> list[RepoRow]:
    """Rows from the configured source (local or github)."""
    source = section.get("source", "local")
    if source == "local":
        from editflow.crawl.local import crawl_local

        paths = list(section.get("local", {}).get("paths", [])) + list(extra_local or [])
        if not paths:
            log.warning("crawl.local.paths is empty and no --extra-local paths were given: "
                        "repos.parquet will have no rows")
        return crawl_local(paths)
    if source == "github":
        from editflow.crawl.github import crawl_github

        if extra_local:
            log.warning("--extra-local is ignored with crawl.source=github (%d paths)", len(extra_local))
        return crawl_github(section.get("github", {}), allow_http_token=allow_http_token)
    raise CrawlError(f"crawl.source: {source!r} is not one of local, github")


def run(args: argparse.Namespace) -> int:
    import os

    from editflow.atomic import check_writable, write_parquet
    from editflow.config import section_from_args
    from editflow.crawl.secrets import scrub, scrub_logging

    secrets = (os.environ.get("GITHUB_TOKEN", ""),)
    scrub_logging(secrets)  # every log line of this process, PyGithub's and urllib3's included
    section = section_from_args(args.config, args.settings, "crawl")
    try:
        check_writable(args.out, "--out")
        if section.get("frozen_list"):
            table = read_frozen_list(section["frozen_list"])
            log.info("crawl.frozen_list: re-using %d repositories from %s", table.num_rows,
                     section["frozen_list"])
        else:
            table = rows_to_table(collect_rows(section, args.extra_local, args.allow_http_token))
    except (CrawlError, ValueError) as exc:  # ValueError: atomic.OutputError names --out
        print(scrub(f"editflow crawl: {exc}", secrets), file=sys.stderr)
        return 1
    write_parquet(table, args.out)
    licenses = Counter(x or "unknown" for x in table.column("license").to_pylist())
    empty = sum(1 for x in table.column("head_sha").to_pylist() if x is None)
    log.info("wrote %s: %d repositories (licenses %s; %d without commits)", args.out,
             table.num_rows, dict(sorted(licenses.items())), empty)
    return 0
