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
def make_agent_home(sleuth_home, tmp_path_factory):
    """Make a SLEUTH_HOME of its own (memory, checkpoints, history) sharing the cached models, corpus and scans."""
    def make():
        home = tmp_path_factory.mktemp("agent-home")
        for shared in ("models", "corpus", "cache", "llm", "gguf", "saes"):
            (sleuth_home / shared).mkdir(exist_ok=True)
            (home / shared).symlink_to(sleuth_home / shared)
        return home
    return make


@pytest.fixture(scope="session")
def agent_home(make_agent_home):
    return make_agent_home()
