"""License identification: GitHub's SPDX ids normalised, and a small text heuristic for local files.

GitHub already classifies licenses (repo.license.spdx_id); for local repositories we only
need the common permissive/copyleft licenses, so a few distinctive phrases suffice. The
heuristic answers None rather than guess: an unknown license is filtered out by an
allow-list, which is the safe direction for a dataset that will be redistributed.
"""
from __future__ import annotations

import re

# File names (case-insensitive, at the top of the tree) that hold a license text.
LICENSE_FILE_NAMES = (
    "license", "license.txt", "license.md", "license.rst",
    "licence", "licence.txt", "licence.md",
    "copying", "copying.txt", "copying.md",
)

_SPDX_LINE = re.compile(r"SPDX-License-Identifier:\s*([A-Za-z0-9.+-]+)")


def normalize_spdx(spdx_id: str | None) -> str | None:
    """GitHub's spdx_id -> lower case; NOASSERTION ("Other") and empty -> None (unknown)."""
    if not spdx_id:
        return None
    spdx_id = spdx_id.strip()
    if not spdx_id or spdx_id.upper() == "NOASSERTION":
        return None
    return spdx_id.lower()


def _squash(text: str) -> str:
    return " ".join(text.lower().split())


def detect_license(text: str) -> str | None:
    """The SPDX id (lower case) of a license text, or None when not recognised."""
    match = _SPDX_LINE.search(text)
    if match:
        return normalize_spdx(match.group(1))
    t = _squash(text)
    if "apache license" in t and "version 2.0" in t:
        return "apache-2.0"
    if "gnu affero general public license" in t:
        return "agpl-3.0"
    if "gnu lesser general public license" in t:
        return "lgpl-3.0" if "version 3" in t else "lgpl-2.1"
    if "gnu general public license" in t:
        if "version 3" in t:
            return "gpl-3.0"
        if "version 2" in t:
            return "gpl-2.0"
        return None
    if "mozilla public license" in t and "2.0" in t:
        return "mpl-2.0"
    if "this is free and unencumbered software released into the public domain" in t:
        return "unlicense"
    if "permission is hereby granted, free of charge" in t or t.startswith("mit license"):
        return "mit"
    if "redistribution and use in source and binary forms" in t:
        if "neither the name" in t or "endorse or promote" in t:
            return "bsd-3-clause"
        return "bsd-2-clause"
    return None
