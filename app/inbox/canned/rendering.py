"""Merge fields: the fixed catalogue, the check made when a template is saved, the render.

A template is plain text with `{{ field }}` and `{{ field | default("text") }}` only: no
statements, no other filter, test or call, no attribute outside the catalogue. Saving
parses the template (jinja2's AST) and refuses anything else with one message per
problem. Rendering runs in jinja2's SandboxedEnvironment with StrictUndefined over plain
dicts of the catalogue's values: a field without a value uses its default, else the
render is refused with the reason (never a blank in a message to a customer).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, nodes
from jinja2.sandbox import SandboxedEnvironment, SecurityError


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    example: str
    defaultable: bool = True


FIELDS: tuple[Field, ...] = (
    Field("contact.first_name", "Contact's first name", "Mike"),
    Field("contact.last_name", "Contact's last name", "Delgado"),
    Field("contact.full_name", "Contact's full name", "Mike Delgado"),
    Field("company.name", "Company name", "ABC Towing"),
    Field("company.city", "Company city (billing address)", "Tampa"),
    Field("rep.first_name", "Your first name", "Sarah"),
    Field("rep.full_name", "Your full name", "Sarah Jones"),
    Field("rep.email", "Your e-mail", "sarah@gpsleaders.example.com"),
    Field("rep.phone", "Your phone", "(813) 555-0142"),
    Field("lead.stage", "Lead stage", "Quoted"),
    Field("invoice.number", "Invoice number (the lead's latest)", "INV-2026-0042"),
    Field("invoice.total", "Invoice total", "$1,580.00"),
    Field("invoice.balance_due", "Invoice balance due", "$790.00"),
    # A pay reminder without its link must not go out: no default, refused instead.
    Field("invoice.pay_url", "Invoice payment link", "https://crm.example.com/pay/…", defaultable=False),
)
CATALOGUE: dict[str, Field] = {f.name: f for f in FIELDS}
NAMESPACES = frozenset(name.split(".")[0] for name in CATALOGUE)
EXAMPLE = '{{ contact.first_name | default("there") }}'


class TemplateRefused(Exception):
    """The template can't be saved: `problems` lists each reason."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


class RenderRefused(Exception):
    """The template can't be rendered for this lead (a value is missing, a link absent...)."""


def _environment(html: bool) -> SandboxedEnvironment:
    # Only `default` is ever used; the rest of jinja2's filters, tests and globals go.
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=html, keep_trailing_newline=True)
    env.filters = {"default": env.filters["default"]}
    env.tests = {}
    env.globals = {}
    return env


_PLAIN = _environment(html=False)
_HTML = _environment(html=True)


def _field_of(node: nodes.Node) -> str | None:
    if (isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name)
            and f"{node.node.name}.{node.attr}" in CATALOGUE):
        return f"{node.node.name}.{node.attr}"
    return None


def _describe(node: nodes.Node) -> str:
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        return f"{_describe(node.node)}.{node.attr}"
    if isinstance(node, nodes.Getitem):
        return f"{_describe(node.node)}[…]"
    if isinstance(node, nodes.Call):
        return f"{_describe(node.node)}(…)"
    if isinstance(node, nodes.Const):
        return repr(node.value)
    return type(node).__name__.lower()


def _check_expression(node: nodes.Node, problems: list[str], used: set[str]) -> None:
    default = None
    if isinstance(node, nodes.Filter):
        ok = (node.name == "default" and node.node is not None and len(node.args) == 1
              and isinstance(node.args[0], nodes.Const) and isinstance(node.args[0].value, str)
              and not node.kwargs and node.dyn_args is None and node.dyn_kwargs is None)
        if not ok:
            problems.append(f'Filter “{node.name}” is not allowed: only | default("text") is.')
            return
        default = node.args[0].value
        node = node.node
    field = _field_of(node)
    if field is None:
        shown = _describe(node)
        if isinstance(node, nodes.Name) and node.name in NAMESPACES:
            problems.append(f"“{{{{ {shown} }}}}”: name a field, e.g. {{{{ {node.name}."
                            f"{next(f.name for f in FIELDS if f.name.startswith(node.name + '.')).split('.')[1]} }}}}.")
        elif isinstance(node, nodes.Name) or (isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name)):
            problems.append(f"Unknown field “{shown}”: use one of the fields listed beside the editor.")
        else:
            problems.append(f"“{shown}” is not allowed: only fields, e.g. {EXAMPLE}.")
        return
    if default is not None and not CATALOGUE[field].defaultable:
        problems.append(f"“{field}” can't have a default: a message without it is refused instead.")
        return
    if default is not None and not default.strip():
        problems.append(f"The default of “{field}” is empty: give a word to use when it has no value.")
        return
    used.add(field)


def check_template(*sources: str | None) -> set[str]:
    """Every field the texts use, or TemplateRefused with one message per problem."""
    return set(_checked(sources))


@lru_cache(maxsize=1024)  # a sequence renders the same few templates thousands of times
def _checked(sources: tuple[str | None, ...]) -> frozenset[str]:
    problems: list[str] = []
    used: set[str] = set()
    for source in sources:
        if not source:
            continue
        try:
            tree = _PLAIN.parse(source)
        except TemplateSyntaxError as exc:
            problems.append(f"Line {exc.lineno}: {(exc.message or 'syntax error').rstrip('.')}. Fields are written {EXAMPLE}.")
            continue
        for statement in tree.body:
            if not isinstance(statement, nodes.Output):
                problems.append(f"Line {statement.lineno}: “{{% {type(statement).__name__.lower()} %}}” "
                                f"is not allowed: only fields, e.g. {EXAMPLE}.")
                continue
            for node in statement.nodes:
                if not isinstance(node, nodes.TemplateData):
                    _check_expression(node, problems, used)
    if problems:
        raise TemplateRefused(list(dict.fromkeys(problems)))
    return frozenset(used)


def render_text(source: str | None, values: dict[str, str], *, html: bool = False,
                reasons: dict[str, str] | None = None) -> str:
    """`source` with the fields filled from `values` ({"contact.first_name": "Mike"}; a
    field absent or empty has no value). `reasons` says why a field has no value. Raises
    RenderRefused naming every field that has neither a value nor a default."""
    if not source:
        return ""
    try:
        check_template(source)
    except TemplateRefused as exc:
        raise RenderRefused(f"This template is not valid: {exc}") from exc
    reasons = reasons or {}
    missing = []
    for field in _fields_without_default(source):
        if not values.get(field):
            missing.append(reasons.get(field) or f"{CATALOGUE[field].label} ({field}) is empty "
                                                 f"for this lead: fill it in, or give the field a default.")
    if missing:
        raise RenderRefused(" ".join(dict.fromkeys(missing)))
    context: dict[str, dict[str, str]] = {ns: {} for ns in NAMESPACES}
    for field, value in values.items():
        if value and field in CATALOGUE:
            ns, attr = field.split(".")
            context[ns][attr] = value
    try:
        return _compiled(source, html).render(context)
    except (UndefinedError, SecurityError) as exc:  # the checks above make this unreachable
        raise RenderRefused(f"This template can't be rendered: {exc}") from exc


@lru_cache(maxsize=1024)
def _compiled(source: str, html: bool):
    return (_HTML if html else _PLAIN).from_string(source)


@lru_cache(maxsize=1024)
def _fields_without_default(source: str) -> frozenset[str]:
    out: set[str] = set()
    for statement in _PLAIN.parse(source).body:
        for node in getattr(statement, "nodes", ()):
            if isinstance(node, nodes.Filter):
                continue
            field = _field_of(node)
            if field:
                out.add(field)
    return frozenset(out)
