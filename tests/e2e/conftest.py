import subprocess
import sys
from pathlib import Path

import pytest

SLEUTH = str(Path(sys.executable).parent / "sleuth")


@pytest.fixture
def cli(sleuth_home):
    def run(*args, ok=True, timeout=600):
        proc = subprocess.run([SLEUTH, *args], capture_output=True, text=True, timeout=timeout)
        if ok:
            assert proc.returncode == 0, proc.stderr
        return proc
    return run


@pytest.fixture(scope="session")
def agent_home(make_agent_home):
    return make_agent_home()
