"""The code reads top to bottom: no two of our modules import each other, however long the way
round, and no import hides inside a function to dodge a cycle. The one exception is an app's
`ready()`, Django's place for registering panels, filters, listeners and Celery tasks."""

import ast
import re
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = tuple(settings.OUR_APPS)


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imported(module: str, path: Path, node: ast.AST, known: dict) -> list[str]:
    """The modules of ours `node` imports (a name imported from a package counts as its module
    when it is one)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            base = module.split(".")
            base = base if path.name == "__init__.py" else base[:-1]
            base = base[: len(base) - node.level + 1]
            prefix = ".".join([*base, *([node.module] if node.module else [])])
        else:
            prefix = node.module or ""
        names = [f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in known else prefix
                 for a in node.names]  # fmt: skip
    else:
        return []
    found = []
    for name in names:
        while name not in known and "." in name:
            name = name.rsplit(".", 1)[0]
        if name in known and name != module:
            found.append(name)
    return found


def test_no_two_modules_import_each_other():
    known = modules()
    graph = {m: set() for m in known}
    for module, path in known.items():
        for node in ast.parse(path.read_text()).body:
            graph[module].update(imported(module, path, node, known))
    # Tarjan's strongly connected components: any of more than one module is a cycle
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in graph[module]:
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while True:
                other = stack.pop()
                component.append(other)
                if other == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in graph:
        if module not in index:
            visit(module)
    assert cycles == []


def test_no_import_hides_inside_a_function():
    known = modules()
    hidden = []
    for module, path in known.items():
        for function in ast.walk(ast.parse(path.read_text())):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if path.name == "apps.py" and function.name == "ready":
                continue
            for node in ast.walk(function):
                if imported(module, path, node, known):
                    hidden.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert hidden == []


# Each app and the apps it may import: the ones below it, never one above or beside it. Every app
# may read the funnel's vocabulary (VOCABULARY). docs/architecture.md says why each sits where.
BELOW = {
    "crm": set(),
    "lifecycle": {"crm"},
    "tagging": {"crm", "lifecycle"},
    "activities": {"crm", "lifecycle", "tagging"},
    "grading": {"crm", "lifecycle", "tagging", "activities"},
    "team": {"crm", "lifecycle", "tagging", "activities", "grading"},
    "audiences": {"crm", "lifecycle", "tagging", "activities", "grading", "team"},
    "spreadsheets": {
        "crm",
        "lifecycle",
        "tagging",
        "activities",
        "grading",
        "team",
        "audiences",
    },
    "integrations": {
        "crm",
        "lifecycle",
        "tagging",
        "activities",
        "grading",
        "team",
        "audiences",
    },  # fmt: skip
    # a person's own data: what every app holds of a contact, read and erased
    "personaldata": {
        "crm",
        "lifecycle",
        "tagging",
        "activities",
        "grading",
        "team",
        "audiences",
        "spreadsheets",
        "integrations",
    },  # fmt: skip
    # the demo company and the benchmarks use everything
    "demo": {
        "crm",
        "lifecycle",
        "tagging",
        "activities",
        "grading",
        "team",
        "audiences",
        "spreadsheets",
        "integrations",
    },
    "bench": {
        "crm",
        "lifecycle",
        "tagging",
        "activities",
        "grading",
        "team",
        "audiences",
        "spreadsheets",
        "integrations",
        "demo",
    },  # fmt: skip
}
VOCABULARY = {"lifecycle.stages", "lifecycle.fsm"}
GET_MODEL = re.compile(r"""get_model\(\s*["'](\w+)["']""")


def test_each_app_imports_only_the_apps_below_it():
    assert set(BELOW) == set(PACKAGES), "place a new app in BELOW"
    known = modules()
    upward = []
    for module, path in known.items():
        app = module.split(".")[0]
        source = path.read_text()
        reached = {other for node in ast.walk(ast.parse(source))
                   for other in imported(module, path, node, known)}  # fmt: skip
        for other in sorted(reached - VOCABULARY):
            if other.split(".")[0] not in BELOW[app] | {app}:
                upward.append(f"{module} imports {other}")
        for other_app in GET_MODEL.findall(source):  # a model reached by name counts too
            if other_app in BELOW and other_app not in BELOW[app] | {app}:
                upward.append(f"{module} reaches {other_app} through apps.get_model")
    assert upward == [], "\n".join(upward)
