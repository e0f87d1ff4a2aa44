"""The diagnose modules import each other at the top only: no import inside a function breaks a cycle."""
import ast
from pathlib import Path

import losslens

SRC = Path(losslens.__file__).parent


def _module(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _target(node: ast.ImportFrom, here: str, is_package: bool) -> str:
    base = here.split(".") if is_package else here.split(".")[:-1]
    if node.level:
        base = base[:len(base) - node.level + 1]
        return ".".join(base + ([node.module] if node.module else []))
    return node.module or ""


def imports(path: Path) -> tuple[set[str], set[str]]:
    """(modules imported at the top level, modules imported inside functions) of the losslens module at ``path``."""
    here, pkg = _module(path), path.name == "__init__.py"
    top, lazy = set(), set()
    tree = ast.parse(path.read_text())
    inner = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
             for n in ast.walk(f)}
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.ImportFrom):
            t = _target(node, here, pkg)
            names = [t] + [f"{t}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        names = [n for n in names if n.startswith("losslens") and _exists(n)]
        (lazy if id(node) in inner else top).update(names)
    return top, lazy


def _exists(name: str) -> bool:
    p = SRC.parent.joinpath(*name.split("."))
    return p.with_suffix(".py").exists() or (p / "__init__.py").exists()


def _path(name: str) -> Path:
    p = SRC.parent.joinpath(*name.split("."))
    return p.with_suffix(".py") if p.with_suffix(".py").exists() else p / "__init__.py"


def reaches(start: str, goal: str) -> bool:
    """Whether ``start`` imports ``goal`` through top-level imports (transitively)."""
    seen, todo = set(), [start]
    while todo:
        m = todo.pop()
        if m == goal:
            return True
        if m in seen:
            continue
        seen.add(m)
        todo += sorted(imports(_path(m))[0])
    return False


def test_no_lazy_import_breaks_a_cycle_in_diagnose():
    for path in sorted((SRC / "diagnose").glob("*.py")):
        here = _module(path)
        for target in imports(path)[1]:
            assert not reaches(target, here), f"{here} imports {target} inside a function to break a cycle"


def test_the_checker_sees_a_lazy_import_that_breaks_a_cycle():
    """The walk can fail: training imports gradflow's monitor at the top, so a function-level import of training in
    gradflow would be a hidden cycle."""
    assert reaches("losslens.diagnose.gradflow", "losslens.diagnose.training")
    assert reaches("losslens.diagnose.training", "losslens.diagnose.flowmonitor")
    assert not reaches("losslens.diagnose.training", "losslens.diagnose.gradflow")
