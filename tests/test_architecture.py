"""descent_core is an engine: importing every module of it must not pull in Streamlit."""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_descent_core_never_imports_streamlit():
    modules = sorted(
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for path in (ROOT / "descent_core").rglob("*.py")
        if path.name != "__init__.py"
    )
    assert len(modules) > 10
    code = "import importlib, sys\n" + "".join(f"importlib.import_module({m!r})\n" for m in modules)
    code += "assert 'streamlit' not in sys.modules, sorted(k for k in sys.modules if k.startswith('streamlit'))\n"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=300)
