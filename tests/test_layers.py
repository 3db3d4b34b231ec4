"""The import layers (issue 13): data flows one way, and a lower layer never imports a higher one.

schema/config/errors/provision → ingest, index, audit → retrieve → reason → pipeline → interfaces; eval/ sits
above all of app; app never imports eval/ or tests/. Checked over the source with `ast` (imports inside
functions count too)."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

from app.config import PROJECT_ROOT

LAYERS = {  # module prefix → floor (higher may import lower or equal, never higher)
    "app.schema": 0, "app.config": 0, "app.errors": 0, "app.provision": 0,
    "app.ingest": 1, "app.index": 1, "app.audit": 1,
    "app.retrieve": 2,
    "app.reason": 3,
    "app.pipeline": 4, "app.pipeline_ingest": 4,
    "app.interfaces": 5,
    "eval": 6,
    "tests": 7, "support": 7, "conftest": 7,
}


def floor_of(module: str) -> int | None:
    best = max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len, default=None)
    return None if best is None else LAYERS[best]


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(tree: ast.AST, package: str) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the importing package
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            out.append((node.lineno, name))
    return out


def upward_imports(root: Path) -> list[str]:
    """Every import in app/ and eval/ of a module on a higher floor, as 'file:line: a (floor) imports b (floor)'."""
    problems = []
    for top in ("app", "eval"):
        for path in sorted((root / top).rglob("*.py")):
            module = module_name(root, path)
            own = floor_of(module)
            package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
            for line, name in imported(ast.parse(path.read_text(encoding="utf-8")), package):
                other = floor_of(name)
                if own is not None and other is not None and other > own:
                    problems.append(f"{path.relative_to(root)}:{line}: {module} ({own}) imports {name} ({other})")
    return problems


def test_no_layer_imports_a_higher_one():
    assert upward_imports(PROJECT_ROOT) == []


def test_every_app_module_has_a_floor():
    missing = [module_name(PROJECT_ROOT, p) for p in (PROJECT_ROOT / "app").rglob("*.py")
               if floor_of(module_name(PROJECT_ROOT, p)) is None and p.name != "__init__.py"]
    assert missing == []


def test_a_planted_upward_import_is_found(tmp_path):
    for top in ("app", "eval"):
        shutil.copytree(PROJECT_ROOT / top, tmp_path / top, ignore=shutil.ignore_patterns("results", "__pycache__"))
    planted = tmp_path / "app" / "index" / "store.py"
    planted.write_text(planted.read_text(encoding="utf-8") + "\n\ndef _late():\n    from app.reason import answer\n",
                       encoding="utf-8")
    (tmp_path / "app" / "audit.py").write_text("from eval.harness import load_questions\n", encoding="utf-8")
    found = upward_imports(tmp_path)
    assert len(found) == 2
    assert any("app.index.store (1) imports app.reason (3)" in p for p in found)
    assert any("app.audit (1) imports eval.harness (6)" in p for p in found)
