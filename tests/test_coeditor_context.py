"""py-unit context: Jedi signatures from the parent commit's git objects, under the budget."""
from __future__ import annotations

import pygit2
import pytest

from editflow.coeditor.pycommits import build_problems, repo_dir_resolver, BuildReport
from editflow.coeditor.settings import UnitSettings
from editflow.coeditor.signatures import SignatureFinder, Snapshot
from editflow.dataset.synthetic import edit_row

UTIL = ("LIMIT = 10\n\n\ndef scale(x: int, factor: float = 2.0) -> float:\n    return x * factor\n\n\n"
        "class Box:\n    size = 3\n\n    def area(self, k):\n        return self.size * k\n")
MAIN = "from pkg.util import scale, Box, LIMIT\n\n\ndef run(n):\n    b = Box()\n    return scale(n) + b.area(LIMIT) + len([n])\n"
MAIN2 = MAIN.replace("scale(n)", "scale(n, 3.0)")


def _tree(repo: pygit2.Repository, files: dict[str, str]) -> pygit2.Oid:
    """A root tree of `dir/name` files (one directory level)."""
    dirs: dict[str, dict[str, str]] = {}
    for path, text in files.items():
        head, _, name = path.partition("/")
        dirs.setdefault(head, {})[name] = text
    root = repo.TreeBuilder()
    for head, members in dirs.items():
        tb = repo.TreeBuilder()
        for name, text in members.items():
            tb.insert(name, repo.create_blob(text.encode()), pygit2.GIT_FILEMODE_BLOB)
        root.insert(head, tb.write(), pygit2.GIT_FILEMODE_TREE)
    return root.write()


@pytest.fixture
def repo(tmp_path):
    r = pygit2.init_repository(str(tmp_path / "o__r.git"), bare=True)
    sig = pygit2.Signature("a", "a@example.com", 0, 0)
    base = {"pkg/__init__.py": "", "pkg/util.py": UTIL, "pkg/main.py": MAIN}
    c1 = r.create_commit("refs/heads/main", sig, sig, "one", _tree(r, base), [])
    c2 = r.create_commit("refs/heads/main", sig, sig, "two", _tree(r, {**base, "pkg/main.py": MAIN2}), [c1])
    return tmp_path, str(c1), str(c2)


def test_signatures_of_what_a_unit_uses(repo):
    root, c1, _ = repo
    with Snapshot(root / "o__r.git", c1) as snap:
        assert snap.files == 3
        sigs = SignatureFinder(snap)("pkg/main.py", MAIN, 3, 6)
    assert sigs == ["# pkg.util\nclass Box:", "def pkg.util.scale(x: int, factor: float=2.0) -> float",
                    "def pkg.util.Box.area(k)", "# pkg.util\nLIMIT = 10"]
    assert not (snap.root).exists()


def test_problems_carry_signatures_within_their_budget(repo):
    root, c1, c2 = repo
    row = edit_row(repo="o/r", commit=c2, path="pkg/main.py", old_source=MAIN, new_source=MAIN2)
    row["parent"] = c1
    s = UnitSettings(synthetic_per_change=0)
    (_, p), = build_problems([row], s, repo_dir_resolver(root))
    assert p.old_code.endswith("# signatures\n# pkg.util\nclass Box:\n"
                               "def pkg.util.scale(x: int, factor: float=2.0) -> float\n"
                               "def pkg.util.Box.area(k)\n# pkg.util\nLIMIT = 10")
    assert p.meta["signatures"] == 4
    (_, small), = build_problems([row], UnitSettings(synthetic_per_change=0, signature_tokens=12),
                                 repo_dir_resolver(root))
    assert small.meta["signatures"] == 1 and small.meta["context_truncated"] is True
    (_, off), = build_problems([row], UnitSettings(synthetic_per_change=0, ablation="no_signatures"),
                               repo_dir_resolver(root))
    assert "# signatures" not in off.old_code
    report = BuildReport()
    list(build_problems([row], s, repo_dir_resolver(root / "elsewhere"), report=report))
    assert report.skips["no_repository"] == 1
