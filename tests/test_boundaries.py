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
    for path in [*(ROOT / "app_pages").glob("*.py"), *(ROOT / "ui").glob("*.py")]:
        assert not {"torch", "torchvision", "captum"} & _imports(path), (
            f"{path.name} imports a tensor library"
        )
        source = path.read_text()
        for forbidden in ("torch.no_grad", ".backward(", "register_forward_hook", "np.einsum", "F.conv2d"):
            assert forbidden not in source, f"{path.name} does tensor work ({forbidden})"


# Each library module by the layer it belongs to; imports may only point to the same layer or below, so
# the package reads from the bottom up (longest matching prefix wins).
LAYERS = {
    "cvviz": 0,
    "cvviz.errors": 0,
    "cvviz.device": 0,
    "cvviz.hooks": 0,
    "cvviz.layouts": 0,
    "cvviz.jobs": 0,
    "cvviz.catalog.schema": 0,
    "cvviz.catalog.papers": 0,
    "cvviz.data": 1,
    "cvviz.models.architectures": 1,
    "cvviz.catalog.torchvision_meta": 2,
    "cvviz.models.build": 2,
    "cvviz.measure.complexity": 2,
    "cvviz.architecture": 2,
    "cvviz.families": 3,
    "cvviz.catalog.registry": 4,
    "cvviz.catalog": 4,
    "cvviz.models": 5,
    "cvviz.measure.catalog_figures": 5,
    "cvviz.explain": 6,
    "cvviz.training": 6,
    "cvviz.generative": 6,
    "cvviz.transfer": 6,
    "cvviz.tasks": 6,
    "cvviz.measure": 6,
    "cvviz.plotting": 7,
    "cvviz.commands": 8,
    "cvviz.cli": 8,
    "cvviz.__main__": 9,
}


def _layer(module: str) -> int:
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        if prefix in LAYERS:
            return LAYERS[prefix]
    raise AssertionError(f"{module} has no layer")


def _library_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("cvviz"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("cvviz"):
            found.add(node.module)
    return found


def test_library_imports_point_down_the_layers():
    upward = []
    for path in (ROOT / "cvviz").rglob("*.py"):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for imported in _library_imports(path):
            if _layer(imported) > _layer(module):
                upward.append(f"{module} -> {imported}")
    assert not upward


def _string_literals(node: ast.AST) -> bool:
    values = node.elts if isinstance(node, (ast.Tuple, ast.List, ast.Set)) else [node]
    return any(isinstance(v, ast.Constant) and isinstance(v.value, str) for v in values)


def _is_spec_attribute(node: ast.AST, names: tuple[str, ...]) -> bool:
    """``spec.kind``, ``loaded.spec.family`` and the like: an attribute of something called spec."""
    if not isinstance(node, ast.Attribute) or node.attr not in names:
        return False
    owner = node.value
    return (isinstance(owner, ast.Name) and owner.id == "spec") or (
        isinstance(owner, ast.Attribute) and owner.attr == "spec"
    )


def test_only_family_plugins_branch_on_family_or_kind_names():
    offenders = []
    paths = [*(ROOT / "cvviz").rglob("*.py"), *(ROOT / "app_pages").glob("*.py"), *(ROOT / "ui").glob("*.py")]
    for path in paths:
        if "families" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Compare)
                and _is_spec_attribute(node.left, ("kind", "family"))
                and any(_string_literals(c) for c in node.comparators)
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders
