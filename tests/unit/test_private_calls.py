"""A module's `_private` functions are its own: other modules call its public services (the
warehouse views once locked orders through `packing._lock_order`)."""
from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"


def private_uses(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("app"):
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    return [f"imports {node.module}.{alias.name}"]
                imported.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            imported |= {(a.asname or a.name).split(".")[0] for a in node.names if a.name.startswith("app")}
    return [f"line {node.lineno}: {node.value.id}.{node.attr}" for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and node.value.id in imported and node.attr.startswith("_") and not node.attr.startswith("__")]


def test_no_module_reaches_into_another_modules_private_names():
    found = {str(path.relative_to(APP)): uses for path in sorted(APP.rglob("*.py")) if (uses := private_uses(path))}
    assert found == {}


def test_the_check_sees_a_private_call(tmp_path):
    sample = tmp_path / "views.py"
    sample.write_text("from app.fulfillment import packing\n\npacking._lock_order(1)\n")
    assert private_uses(sample) == ["line 3: packing._lock_order"]
