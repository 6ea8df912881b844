"""engine/ is the functional core: no module in it may import pykka or actors/."""

import ast
import pathlib

ENGINE = pathlib.Path(__file__).resolve().parents[1] / "engine"


def imported_roots(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_engine_never_imports_the_actor_runtime():
    files = sorted(ENGINE.rglob("*.py"))
    assert files, "engine/ has no modules"
    offenders = {
        str(f.relative_to(ENGINE)): roots & {"pykka", "actors"} for f in files if roots_hit(f)
    }
    assert offenders == {}


def roots_hit(f: pathlib.Path) -> bool:
    return bool(imported_roots(f) & {"pykka", "actors"})


def test_layering_check_detects_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nfrom pykka import ThreadingActor\n")
    assert roots_hit(bad)
