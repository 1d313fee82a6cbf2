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


@pytest.fixture(scope="session")
def label_env(make_agent_home, default_sae_path, tmp_path_factory):
    """The environment of a `sleuth label` run against an LLM at `base_url`: an agent home of its own and
    small window counts."""
    import os

    def make(base_url: str) -> dict:
        config = tmp_path_factory.mktemp("label-config") / "sleuth.toml"
        config.write_text("[agent]\nexplain_windows = 128\nheldout_windows = 128\n")
        return {**os.environ, "SLEUTH_LLM_BASE_URL": base_url, "SLEUTH_CONFIG": str(config),
                "SLEUTH_HOME": str(make_agent_home()), "COLUMNS": "200"}

    return make
