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
    allowed = {"cli.py", "evaluate_cli.py", "__main__.py"}
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
    banned = ("duckdb", "faster_whisper", "litellm", "geopy", "pipeline.storage", "pipeline.orchestrator")
    offenders = []
    for path in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]:
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8")
        offenders += [f"{path.name}: {b}" for b in banned if f"import {b}" in text or f"from {b}" in text]
    assert not offenders
