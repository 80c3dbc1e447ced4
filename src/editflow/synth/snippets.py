"""Seed snippets: 5-15 consecutive lines from each of two files of a repository's head tree.

OpenCodeEdit grounds every synthesised task in real code: two files drawn at random, a run of
5 to 15 consecutive lines from each, files under 5 lines never drawn. Drawing is seeded, so
the same repositories and seed give the same snippets (and the same prompts) on every run;
every generator model gets the same snippet pairs, as in the seed paper.
"""
from __future__ import annotations

import logging
import os
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

log = logging.getLogger(__name__)

MIN_LINES, MAX_LINES = 5, 15
MAX_FILE_BYTES = 1_000_000    # larger files are generated or data, not code to imitate
LICENSE_FILES = ("LICENSE", "LICENSE.md", "LICENSE.txt", "LICENCE", "COPYING", "COPYING.md")
# (SPDX id as records.REPO_SCHEMA stores it, phrases that must all appear), first match wins
LICENSE_PHRASES = (
    ("apache-2.0", ("apache license", "version 2.0")),
    ("mit", ("permission is hereby granted, free of charge",)),
    ("gpl-3.0", ("gnu general public license", "version 3")),
    ("gpl-2.0", ("gnu general public license", "version 2")),
    ("lgpl-3.0", ("gnu lesser general public license",)),
    ("mpl-2.0", ("mozilla public license",)),
    ("bsd-3-clause", ("redistribution and use in source and binary forms", "neither the name")),
    ("bsd-2-clause", ("redistribution and use in source and binary forms",)),
    ("unlicense", ("this is free and unencumbered software",)),
)


class SnippetError(ValueError):
    """A repository that cannot give seed snippets (not a repository, empty, < 2 usable files)."""


@dataclass(frozen=True)
class Snippet:
    """One seed snippet: lines first_line..last_line (1-based, inclusive) of `path`."""
    path: str
    first_line: int
    last_line: int
    text: str

    @property
    def lines(self) -> str:
        return f"{self.first_line}-{self.last_line}"


@dataclass(frozen=True)
class SeedPair:
    """The two snippets of one synthesis prompt and where they come from."""
    pair_id: str
    repo: str
    commit: str
    license: str | None
    snippets: tuple[Snippet, Snippet]


@dataclass(frozen=True)
class SourceFile:
    path: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class RepoFiles:
    """The usable files of one repository's head commit."""
    repo: str
    commit: str
    license: str | None
    files: tuple[SourceFile, ...]


def repo_name(path: str | Path) -> str:
    """results/demo/owner__name.git -> owner/name; any other directory -> local/<its name>."""
    name = Path(os.path.abspath(str(path))).name
    name = name[:-4] if name.endswith(".git") else name
    return name.replace("__", "/", 1) if "__" in name else f"local/{name}"


def detect_license(texts: dict[str, str]) -> str | None:
    """SPDX id (lower case) of the first license file whose text has a known license's phrases."""
    for name in LICENSE_FILES:
        text = re.sub(r"\s+", " ", texts.get(name, "")).lower()
        for spdx, phrases in LICENSE_PHRASES:
            if text and all(p in text for p in phrases):
                return spdx
    return None


def _walk(repo, tree, prefix: str, suffixes: tuple[str, ...]):
    import pygit2

    for entry in tree:
        path = f"{prefix}{entry.name}"
        if entry.type_str == "tree":
            yield from _walk(repo, repo[entry.id], path + "/", suffixes)
        elif entry.type_str == "blob" and entry.filemode != pygit2.enums.FileMode.LINK and path.endswith(suffixes):
            yield path, entry.id


def read_repo(path: str | Path, suffixes: Sequence[str] = (".py",)) -> RepoFiles:
    """The head tree's files with a wanted suffix, at least MIN_LINES lines, decodable as UTF-8."""
    import pygit2

    try:
        repo = pygit2.Repository(str(path))
    except (pygit2.GitError, KeyError) as exc:
        raise SnippetError(f"{path}: not a git repository ({exc})") from exc
    if repo.head_is_unborn:
        raise SnippetError(f"{path}: the repository has no commits")
    commit = repo.head.peel(pygit2.Commit)
    files, licenses = [], {}
    for entry in commit.tree:
        if entry.type_str == "blob" and entry.name in LICENSE_FILES:
            licenses[entry.name] = repo[entry.id].data[:20_000].decode("utf-8", "replace")
    for file_path, oid in sorted(_walk(repo, commit.tree, "", tuple(suffixes))):
        blob = repo[oid]
        if blob.size > MAX_FILE_BYTES or blob.is_binary:
            continue
        try:
            text = blob.data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        lines = tuple(text.splitlines())
        if len(lines) >= MIN_LINES:
            files.append(SourceFile(file_path, lines))
    return RepoFiles(repo_name(path), str(commit.id), detect_license(licenses), tuple(files))


def draw_snippet(rng: random.Random, source: SourceFile) -> Snippet:
    n = rng.randint(MIN_LINES, min(MAX_LINES, len(source.lines)))
    start = rng.randint(0, len(source.lines) - n)
    return Snippet(source.path, start + 1, start + n, "\n".join(source.lines[start:start + n]))


def draw_pairs(repos: Sequence[RepoFiles], n: int, seed: int) -> list[SeedPair]:
    """n snippet pairs, spread over the repositories in turn (those with >= 2 usable files)."""
    from editflow.records import stable_id

    usable = [r for r in repos if len(r.files) >= 2]
    for r in repos:
        if len(r.files) < 2:
            log.warning("%s: %d usable file(s) (>= %d lines); it gives no seed snippets", r.repo, len(r.files), MIN_LINES)
    if not usable:
        raise SnippetError("no repository has two files of at least 5 lines to draw seed snippets from")
    rng = random.Random(seed)
    pairs = []
    for i in range(n):
        repo = usable[i % len(usable)]
        first, second = rng.sample(repo.files, 2)
        snippets = (draw_snippet(rng, first), draw_snippet(rng, second))
        key = stable_id(repo.repo, repo.commit, *(f"{s.path}:{s.lines}" for s in snippets), str(i))
        pairs.append(SeedPair(key, repo.repo, repo.commit, repo.license, snippets))
    return pairs
