"""The rooms of the code stay where a newcomer looks for them (issue 14's layering).

- ``engine/`` knows no process: it imports neither ``services`` nor ``workflows``
  and names no workflow.
- ``services/`` holds each process's own operations, above the engine.
- ``workflows/`` are declarations: no I/O, no engine runtime, no services.
- No import circle among the modules of ``engine`` and ``services``, counting
  the imports made inside functions too (a lazy import hides a circle, it does
  not remove it).
"""

from __future__ import annotations

import ast
from pathlib import Path

from engine.registry import default

ROOT = Path(__file__).resolve().parent.parent


def modules(package: str) -> dict[str, Path]:
    return {f"{package}.{p.stem}" if p.stem != "__init__" else package: p
            for p in sorted((ROOT / package).glob("*.py"))}


def imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def test_the_engine_imports_no_process_layer():
    for name, path in modules("engine").items():
        bad = sorted(m for m in imports(path) if m.split(".")[0] in ("services", "workflows", "commands", "cli"))
        assert not bad, f"{name} imports {bad}: the engine must not know a process"


def test_the_engine_names_no_workflow():
    names = set(default().names())
    for name, path in modules("engine").items():
        strings = {n.value for n in ast.walk(ast.parse(path.read_text()))
                   if isinstance(n, ast.Constant) and isinstance(n.value, str)}
        assert not names & strings, f"{name} names the workflow(s) {sorted(names & strings)}"


def test_workflows_are_declarations():
    for name, path in modules("workflows").items():
        bad = sorted(m for m in imports(path) if m.split(".")[0] in ("services", "commands", "sqlalchemy", "sqlmodel")
                     or m in ("engine.runtime", "engine.db", "engine.outbox", "engine.delivery", "os", "pathlib"))
        assert not bad, f"{name} imports {bad}: a workflow file declares rules, it does no I/O"


def _graph() -> dict[str, set[str]]:
    mods = {**modules("engine"), **modules("services")}
    return {name: {m for m in imports(path) if m in mods and m != name} for name, path in mods.items()}


def test_no_import_circles():
    graph = _graph()
    seen, stack, cycles = set(), [], []

    def visit(node):
        if node in stack:
            cycles.append(stack[stack.index(node):] + [node])
            return
        if node in seen:
            return
        seen.add(node)
        stack.append(node)
        for nxt in sorted(graph[node]):
            visit(nxt)
        stack.pop()

    for node in sorted(graph):
        visit(node)
    assert not cycles, "import circles: " + "; ".join(" -> ".join(c) for c in cycles[:5])


def test_the_portal_web_layer_holds_no_business_logic():
    """``web/`` (issue 17) renders pages and calls services: it reaches the database, the engine's
    runtime and the workflows only through ``services.portal`` and ``services.sms_inbound``."""
    allowed = {"services", "services.portal", "services.sms_inbound", "engine.errors", "web.i18n", "web.app"}
    for name, path in modules("web").items():
        ours = {m for m in imports(path) if m.split(".")[0] in ("engine", "services", "workflows", "commands", "web")}
        bad = sorted(m for m in ours if m not in allowed and not m.startswith(("engine.errors.", "web.")))
        assert not bad, f"{name} imports {bad}: the web layer calls services only"
        assert not {m for m in imports(path) if m.split(".")[0] in ("sqlalchemy", "sqlmodel")}, name


def test_a_read_command_on_sqlite_loads_no_postgresql_dialect():
    """Issue 19: a dialect argument on a model (``postgresql_where=``) makes SQLAlchemy import the whole
    PostgreSQL dialect at every start, ~50 ms of every command on SQLite. Partial indexes are made by
    the migrations only; this keeps it so (it failed before the notice index moved)."""
    import subprocess
    import sys

    code = ("import sys, engine.api, engine.batch, engine.scheduler; "
            "print(sorted(m for m in sys.modules if m.startswith('sqlalchemy.dialects.postgresql')))")
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
