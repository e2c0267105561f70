"""The house rules that a grep can check (docs/architecture.md): no HTML built in Python strings,
and app/crm split by sub-domain with its templates and tests beside each sub-package."""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"
CRM = APP / "crm"

# An opening or closing HTML tag (not "<token>" in a route or "<Company ...>" in a __repr__).
TAG = re.compile(r"</?(a|b|br|button|div|em|form|h[1-6]|hx-partial|i|img|input|label|li|ol|option|p|script|"
                 r"section|select|span|strong|style|table|td|th|tr|ul)(?=[\s/>])", re.I)


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def html_in_python_strings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    docstrings = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            if TAG.search(node.value):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value[:60]!r}")
    return found


def test_the_tag_pattern_finds_markup_and_not_routes_or_reprs():
    assert TAG.search('<option value="') and TAG.search("</option>") and TAG.search("<br/>")
    assert not TAG.search("/pay/<token>/sign") and not TAG.search("<Company {self.name!r}>")


def test_no_html_is_built_in_python_strings():
    """Markup belongs in templates (a macro when it repeats); autoescaping then covers it."""
    found = [hit for path in sorted(APP.rglob("*.py")) for hit in html_in_python_strings(path)]
    assert found == []


def test_crm_is_split_by_sub_domain():
    """app/crm holds its blueprint and the shared models; everything else lives in a sub-package
    whose templates are under templates/crm/<sub>/ (a newcomer finds a feature by folder name)."""
    loose = sorted(p.name for p in CRM.glob("*.py"))
    assert loose == ["__init__.py", "models.py"]
    subs = {p.name for p in CRM.iterdir() if (p / "__init__.py").is_file()}
    assert {"records", "pipeline", "importing", "tasks"} <= subs
    templates = ROOT / "templates" / "crm"
    assert [p.name for p in templates.iterdir() if p.is_file()] == []
    assert {p.name for p in templates.iterdir() if p.is_dir()} <= subs
    tests = ROOT / "tests" / "integration" / "crm"
    assert {p.name for p in tests.iterdir() if p.is_dir() and p.name != "__pycache__"} <= subs
