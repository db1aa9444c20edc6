"""Architecture rules that keep the library reusable: cvviz never imports Streamlit, pages do no maths."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_library_never_imports_streamlit():
    offenders = [
        str(p.relative_to(ROOT)) for p in (ROOT / "cvviz").rglob("*.py") if "streamlit" in _imports(p)
    ]
    assert not offenders


def test_importing_every_library_module_loads_no_streamlit():
    modules = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts)
        for p in (ROOT / "cvviz").rglob("*.py")
        if p.name != "__main__.py"
    )
    code = "import importlib, sys\n" + "".join(f"importlib.import_module({m!r})\n" for m in modules)
    code += "print('streamlit' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_pages_and_ui_do_no_tensor_maths():
    for path in [*(ROOT / "pages").glob("*.py"), *(ROOT / "ui").glob("*.py")]:
        assert not {"torch", "torchvision", "captum"} & _imports(path), (
            f"{path.name} imports a tensor library"
        )
        source = path.read_text()
        for forbidden in ("torch.no_grad", ".backward(", "register_forward_hook", "np.einsum", "F.conv2d"):
            assert forbidden not in source, f"{path.name} does tensor work ({forbidden})"
