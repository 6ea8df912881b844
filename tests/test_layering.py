"""engine/ is the functional core: no module in it, in any subpackage, may import pykka or
actors/. A failure names each offending import with its file and line."""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
ENGINE = ROOT / "engine"
FORBIDDEN = frozenset({"pykka", "actors"})


def imported_modules(path: pathlib.Path, root: pathlib.Path = ROOT) -> list[tuple[int, str]]:
    """Every module ``path`` imports, as (line, absolute dotted name); relative imports
    are resolved against the file's package under ``root``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = path.relative_to(root).parent.parts
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                base = node.module or ""
            else:  # ``from .. import x``: climb level - 1 packages up from the file's own
                up = package[: len(package) - (node.level - 1)]
                base = ".".join((*up, node.module) if node.module else up)
            # ``from pkg import mod`` may import a module: name each one
            found.extend((node.lineno, f"{base}.{alias.name}".lstrip(".")) for alias in node.names)
        elif _is_dynamic_import(node):  # importlib.import_module("actors.x"), __import__(...)
            found.append((node.lineno, node.args[0].value))
    return found


def _is_dynamic_import(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call) or not node.args:
        return False
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    first = node.args[0]
    return (
        name in ("import_module", "__import__")
        and isinstance(first, ast.Constant)
        and isinstance(first.value, str)
    )


def offending_imports(path: pathlib.Path, root: pathlib.Path = ROOT) -> list[str]:
    return [
        f"line {line}: {name}"
        for line, name in imported_modules(path, root)
        if name.split(".")[0] in FORBIDDEN
    ]


def engine_modules() -> list[pathlib.Path]:
    return sorted(ENGINE.rglob("*.py"))


def test_engine_never_imports_the_actor_runtime():
    files = engine_modules()
    assert files, "engine/ has no modules"
    offenders = {str(f.relative_to(ROOT)): hits for f in files if (hits := offending_imports(f))}
    assert offenders == {}


def test_every_engine_subpackage_is_checked():
    packages = {p.parent for p in ENGINE.rglob("__init__.py")}
    assert len(packages) > 1, "engine/ has no subpackages"
    checked = {f.parent for f in engine_modules()}
    assert packages <= checked


def test_layering_check_names_the_offending_import(tmp_path):
    bad = tmp_path / "engine" / "desk" / "bad.py"
    bad.parent.mkdir(parents=True)
    bad.write_text(
        "import os\nfrom pykka import ThreadingActor\nimport actors.runtime as rt\n"
        "import importlib\nhost = importlib.import_module('actors.host')\n"
    )
    assert offending_imports(bad, tmp_path) == [
        "line 2: pykka.ThreadingActor",
        "line 3: actors.runtime",
        "line 5: actors.host",
    ]


def test_layering_check_resolves_relative_imports(tmp_path):
    ok = tmp_path / "engine" / "desk" / "ok.py"
    ok.parent.mkdir(parents=True)
    ok.write_text("from . import intake\nfrom ..messages import Side\n")
    assert imported_modules(ok, tmp_path) == [
        (1, "engine.desk.intake"),
        (2, "engine.messages.Side"),
    ]
    assert offending_imports(ok, tmp_path) == []
