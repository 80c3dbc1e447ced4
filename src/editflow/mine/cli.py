"""Mine every notebook and .py edit of one repository's first-parent history into Parquet.

Reads the history with pygit2 (no `git` process per file; blobs of 256 KB or more stream
from one long-lived `git cat-file --batch` per worker when git is installed, see
mine.reader), skips merge commits (counted),
turns each notebook or .py file a commit adds, deletes, modifies or renames into one Edit
row (records.EDIT_SCHEMA: code cells and difflib cell_ops for notebooks), and everything
that cannot be read (invalid JSON, LFS pointers, binaries, undecodable, too large, missing
or corrupt objects, ...) into a counted Skip row (records.SKIP_SCHEMA). Reruns after new
commits mine only the new ones and give the same bytes as a full mine. Outputs are written
atomically. Details and measured throughput: docs/mine.md.

Example:
    editflow mine --repo results/default/demo/demo-00.git --name local/demo-00 \\
        --out results/default/edits/local__demo-00.parquet --skips results/default/edits/local__demo-00.skips.parquet
"""
from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from editflow.inputs import workers_arg

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--repo", help="repository path (bare or not) or clone URL")
    src.add_argument("--repos-table", metavar="REPOS.parquet",
                     help="take clone URL, name, frozen head SHA and license from this crawl output "
                          "(the row whose slug is --slug); the workflow's mine rule uses this")
    p.add_argument("--slug", help="with --repos-table: the repository's slug (owner__name)")
    p.add_argument("--out", required=True, help="edits Parquet file (records.EDIT_SCHEMA)")
    p.add_argument("--skips", help="skips Parquet file (records.SKIP_SCHEMA)")
    p.add_argument("--workers", type=workers_arg,
                   help="worker processes (default, or 0: the config's mine.resources.threads)")
    p.add_argument("--name", help="repository full name stored in each row (default: local/<dir>)")
    p.add_argument("--head-sha", help="mine the history up to this commit (default: HEAD)")
    p.add_argument("--license", help="SPDX id stored in each row")
    p.add_argument("--clone-dir", help="clone (or fetch into) this bare repository first")
    p.add_argument("--config", help="full config YAML (default: config/config.yaml)")
    p.add_argument("--settings", help="the `mine` config section as JSON (overrides --config)")
    p.add_argument("--progress", action="store_true", help="show a progress bar even without a TTY")


def default_name(repo: str) -> str:
    name = Path(repo.rstrip("/")).name or "repo"
    if name.endswith(".git"):
        name = name[:-4] or "repo"
    if name == ".git" or not name:
        name = Path(repo).resolve().parent.name
    return f"local/{name}"


def _fill_from_table(args: argparse.Namespace) -> None:
    """Explicit flags win; the crawl's frozen row fills the rest."""
    import pyarrow.compute as pc

    from editflow.inputs import TEXT, check_columns, read_parquet

    if not args.slug:
        raise SystemExit("editflow mine: --repos-table needs --slug")
    table = read_parquet(args.repos_table, "repository table", "editflow crawl")
    check_columns(table, args.repos_table, {c: TEXT for c in ("slug", "clone_url", "full_name")},
                  {c: TEXT for c in ("head_sha", "license")}, "records.REPO_SCHEMA, from `editflow crawl`")
    rows = table.filter(pc.equal(table["slug"], args.slug)).to_pylist()
    if not rows:
        raise ValueError(f"no repository with slug {args.slug!r} in {args.repos_table}; "
                         f"rerun the crawl or check the slug")
    row = rows[0]
    args.repo = row["clone_url"]
    args.name = args.name or row["full_name"]
    args.head_sha = args.head_sha or row["head_sha"]
    args.license = args.license or row["license"]


def run(args: argparse.Namespace) -> int:
    from editflow.config import section_from_args
    from editflow.mine.clone import CloneError, prepare
    from editflow.mine.extract import MineSettings
    from editflow.mine.miner import mine

    from editflow.atomic import check_writable

    cfg = section_from_args(args.config, args.settings, "mine")
    try:
        if args.repos_table:
            _fill_from_table(args)
        check_writable(args.out, "--out")
        if args.skips:
            check_writable(args.skips, "--skips")
    except ValueError as exc:  # InputError, OutputError: the message names the file and the fix
        log.error("%s", exc)
        return 1
    settings = MineSettings(
        repo_name=args.name or default_name(args.repo),
        license=args.license.lower() if args.license else None,
        max_file_bytes=cfg["max_file_bytes"], include_python=cfg["include_python"],
        rename_similarity=cfg["rename_similarity"], notebook_source=cfg["notebook_source"],
        history=cfg["history"])
    workers = args.workers or cfg["resources"]["threads"]
    try:
        path = prepare(args.repo, args.clone_dir, cfg["clone"])
        report = mine(path, Path(args.out), Path(args.skips) if args.skips else None, settings,
                      head_sha=args.head_sha, workers=workers,
                      progress=True if args.progress else None, partial=cfg["clone"] == "partial",
                      reader=cfg["reader"])
    except (CloneError, ValueError, RuntimeError) as exc:
        log.error("%s", exc)
        return 1
    print(json.dumps(report.as_dict(), sort_keys=True))
    return 0
