"""The package: the wheel holds every cvviz subpackage, the bundled samples and the `cvviz` command.

(CI also installs the wheel into a fresh environment outside the repository and runs the command there;
see .ci/run.)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_holds_every_subpackage_the_samples_and_the_console_script(tmp_path):
    source = tmp_path / "source"  # a copy, so building leaves nothing behind in the checkout
    shutil.copytree(ROOT / "cvviz", source / "cvviz", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(tmp_path), str(source)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    (wheel,) = tmp_path.glob("cvviz-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    sources = {str(p.relative_to(ROOT)) for p in (ROOT / "cvviz").rglob("*.py")}
    assert sources <= names, f"missing from the wheel: {sorted(sources - names)}"
    samples = {str(p.relative_to(ROOT)) for p in (ROOT / "cvviz" / "data" / "samples").iterdir()}
    assert samples <= names
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "[console_scripts]" in text and "cvviz = cvviz.cli:main" in text
