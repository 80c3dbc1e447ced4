"""Relevant signatures (the paper's section 3.2): what the pre-edit unit uses, found with Jedi.

For every name the unit references, Jedi follows it (imports included) to its definition in
the repository at the commit's parent: a function gives its signature, a class its header
line, a variable or attribute the first statement that assigns it. Builtins, definitions
inside the unit itself and repeats are left out; the order is that of first use.

The repository is never checked out and never fetched: the parent commit's .py files are
written from git objects (pygit2) into a temporary directory that Jedi reads as the project.
One snapshot serves all problems of a commit.
"""
from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)


class Snapshot:
    """The .py files of one commit, materialised from git objects into a temporary directory."""

    def __init__(self, repo_path: str | Path, commit: str, max_files: int = 5000,
                 max_bytes: int = 1 << 20) -> None:
        import pygit2

        repo = pygit2.Repository(str(repo_path))
        tree = repo.revparse_single(commit).peel(pygit2.Commit).tree
        self.root = Path(tempfile.mkdtemp(prefix="editflow-jedi-"))
        self.files = 0
        stack = [(tree, self.root)]
        while stack and self.files < max_files:
            t, where = stack.pop()
            for entry in t:
                if entry.type_str == "tree":
                    stack.append((repo[entry.id], where / entry.name))
                elif entry.type_str == "blob" and entry.name.endswith(".py") and entry.filemode != 0o120000:
                    blob = repo[entry.id]
                    if blob.size > max_bytes or blob.is_binary:
                        continue
                    where.mkdir(parents=True, exist_ok=True)
                    (where / entry.name).write_bytes(blob.data)
                    self.files += 1

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "Snapshot":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _signature_text(d) -> str | None:
    """`def pkg.mod.Class.f(a, b=1) -> T` for functions; `# pkg.mod` + the line otherwise."""
    module = d.module_name or "?"
    if d.type == "function":
        sigs = d.get_signatures()
        text = sigs[0].to_string() if sigs else f"{d.name}(...)"
        owner = (d.full_name or d.name).rsplit(".", 1)[0] if "." in (d.full_name or "") else ""
        return f"def {owner}.{text}" if owner else f"def {text}"
    line = (d.get_line_code() or "").strip()
    if line and d.type in ("class", "statement", "instance"):
        return f"# {module}\n{line}"
    return None


class SignatureFinder:
    """Callable (path, pre-edit module source, unit start, unit end) -> signature strings."""

    def __init__(self, snapshot: Snapshot, max_names: int = 200) -> None:
        import jedi

        self.snapshot = snapshot
        self.max_names = max_names
        self._jedi = jedi
        roots = [str(p) for p in (snapshot.root, snapshot.root / "src") if p.is_dir()]
        self.project = jedi.Project(str(snapshot.root), added_sys_path=roots,
                                    smart_sys_path=False, load_unsafe_extensions=False)
        self.environment = jedi.InterpreterEnvironment()
        self._scripts: dict[tuple[str, str], tuple] = {}

    def _script(self, path: str, source: str):
        """One Jedi script (and its inference cache) per module version of the commit."""
        key = (path, source)
        if key not in self._scripts:
            script = self._jedi.Script(code=source, path=str(self.snapshot.root / path),
                                       project=self.project, environment=self.environment)
            names = script.get_names(all_scopes=True, definitions=False, references=True)
            self._scripts[key] = (script, names, source.split("\n"), {})
        return self._scripts[key]

    def __call__(self, path: str, source: str, start: int, end: int) -> list[str]:
        _, names, lines, resolved = self._script(path, source)
        out: list[str] = []
        seen: set[tuple] = set()
        asked: set[tuple[str, bool]] = set()
        for n in names:
            if not start < n.line <= end:
                continue
            text = lines[n.line - 1] if n.line - 1 < len(lines) else ""
            # one lookup per spelling (a name, or an attribute after a dot): the same name in
            # one unit nearly always means the same thing, and goto is Jedi's costly step
            key = (n.name, n.column > 0 and text[:n.column].rstrip().endswith("."))
            if key in asked or len(asked) >= self.max_names:
                continue
            asked.add(key)
            if key not in resolved:
                try:
                    resolved[key] = n.goto(follow_imports=True, follow_builtin_imports=False)
                except Exception:  # Jedi's inference on odd code
                    resolved[key] = []
            for d in resolved[key]:
                if d.in_builtin_module() or d.module_path is None or d.line is None:
                    continue
                here = d.module_path == self.snapshot.root / path
                if here and start < d.line <= end:
                    continue
                where = (str(d.module_path), d.line)
                if where in seen:
                    continue
                seen.add(where)
                sig = _signature_text(d)
                if sig:
                    out.append(sig)
        return out
