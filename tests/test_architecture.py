"""The project's own rules, checked: the pipeline never imports the UI, prints, or talks HTML."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIPELINE = ROOT / "pipeline"


def _modules():
    return sorted(PIPELINE.rglob("*.py"))


def test_pipeline_never_imports_streamlit():
    offenders = []
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] == "streamlit"]
    assert not offenders


def test_import_linter_contract_holds():
    exe = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(exe)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_no_print_in_library_code():
    allowed = {"cli.py", "__main__.py"}
    offenders = []
    for path in _modules():
        if path.name in allowed:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders


def test_pages_do_not_touch_database_or_models():
    banned = ("duckdb", "faster_whisper", "litellm", "geopy", "pipeline.storage.db", "pipeline.runner")
    offenders = []
    for path in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]:
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8")
        offenders += [f"{path.name}: {b}" for b in banned if f"import {b}" in text or f"from {b}" in text]
    assert not offenders


def _import_graph() -> dict[str, set[str]]:
    """Module -> the pipeline modules it imports (at module level or inside functions)."""
    graph: dict[str, set[str]] = {}
    for path in _modules():
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        name = ".".join(parts)
        package = parts if is_package else parts[:-1]
        edges = graph.setdefault(name, set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = package[: len(package) - node.level + 1] if node.level else []
                target = ".".join(base + ([node.module] if node.module else []))
                if node.module is None:
                    edges.update(f"{target}.{a.name}" for a in node.names)
                edges.add(target)
            elif isinstance(node, ast.Import):
                edges.update(a.name for a in node.names)
    return {m: {e for e in edges if e in graph and e != m} for m, edges in graph.items()}


def test_no_import_cycles_between_pipeline_modules():
    """Registries name their implementations as strings, so no module imports one that imports it back."""
    graph = _import_graph()
    cycles = []
    state: dict[str, int] = {}

    def visit(module: str, stack: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycles.append(stack[stack.index(target):] + [target] if target in stack else [module, target])
            elif target not in state:
                visit(target, [*stack, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    # a package's __init__ re-exporting its own modules is not a loop of meaning
    cycles = [c for c in cycles
              if not any(a.startswith(b + ".") or b.startswith(a + ".") for a, b in zip(c, c[1:], strict=False))]
    assert not cycles, cycles


def test_the_layout_shows_the_architecture():
    """Stages, geographic data, the runner, storage, the service and the evaluation each have a package."""
    for package in ("stages", "geo", "runner", "storage", "service", "evaluate"):
        assert (PIPELINE / package / "__init__.py").exists(), package
    flat = sorted(p.name for p in PIPELINE.glob("*.py"))
    assert len(flat) <= 12, flat
