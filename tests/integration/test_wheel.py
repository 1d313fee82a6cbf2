"""A built wheel (not the editable install) imports cleanly."""

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_built_wheel_imports_sleuth_tools(tmp_path):
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True)
    wheel = next(tmp_path.glob("sleuth-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "sleuth/tools/__init__.py" in names and "sleuth/agent/__init__.py" in names
    assert not any(n.startswith(("tools/", "agent/", "memory/")) for n in names), "bare top-level package shipped"
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = "import sleuth.tools, sleuth.target, sleuth; print(sleuth.tools.__file__)"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env={"PYTHONPATH": str(site), "PATH": ""},
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip().startswith(str(site))
