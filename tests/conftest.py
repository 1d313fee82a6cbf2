"""Shared fixtures. Models and corpora are cached under SLEUTH_HOME (once per machine)."""

import os
import socket
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
if os.environ.get("PYTEST_XDIST_WORKER"):  # two workers on two cores: one compute thread each (and their commands)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")

_real_connect = socket.socket.connect


def _loopback_only(self, address):
    """Any non-loopback network call in a test is a bug."""
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and not (host.startswith("127.") or host in ("localhost", "::1") or host.startswith("/")):
        raise RuntimeError(f"test tried to reach the network: {address}")
    return _real_connect(self, address)


socket.socket.connect = _loopback_only


@pytest.fixture(scope="session")
def sleuth_home() -> Path:
    home = Path(os.environ.get("SLEUTH_HOME", Path.home() / ".sleuth"))
    home.mkdir(parents=True, exist_ok=True)
    os.environ["SLEUTH_HOME"] = str(home)
    return home


@pytest.fixture(scope="session")
def smollm(sleuth_home):
    from sleuth.target import load_target

    return load_target("smollm2-135m", sleuth_home)


@pytest.fixture(scope="session")
def embedded_corpus(sleuth_home):
    from sleuth.corpus import open_corpus

    return open_corpus("embedded", sleuth_home / "corpus")


@pytest.fixture(scope="session")
def default_sae_path(sleuth_home, smollm):
    """The default SAE of SmolLM2 (trained once per machine by `make setup`, or here if missing)."""
    from sleuth.sae.library import ensure_entry
    from sleuth.sae.registry import known_saes

    return ensure_entry(known_saes().default_for("smollm2-135m"), smollm, sleuth_home)


@pytest.fixture(scope="session")
def smollm_sae(sleuth_home, default_sae_path):
    """A separate SmolLM2 with the default SAE attached (the plain `smollm` stays SAE-free)."""
    from sleuth.sae.library import load_sae
    from sleuth.target import load_target

    target = load_target("smollm2-135m", sleuth_home)
    load_sae("smollm2-res-6", target, sleuth_home)
    return target


@pytest.fixture(scope="session")
def make_agent_home(sleuth_home, tmp_path_factory):
    """Make a SLEUTH_HOME of its own (memory, checkpoints, history) sharing the cached models, corpus and
    scans; `own` names shared parts it gets fresh instead (e.g. "cache" for a test of the scan cache)."""
    def make(own: tuple[str, ...] = ()):
        home = tmp_path_factory.mktemp("agent-home")
        for shared in ("models", "corpus", "cache", "llm", "gguf", "saes"):
            if shared not in own:
                (sleuth_home / shared).mkdir(exist_ok=True)
                (home / shared).symlink_to(sleuth_home / shared)
        return home
    return make


WORKER_CHAINS: list[str] = []  # the fault chains' lines the xdist workers sent back


def pytest_sessionfinish(session):
    import fault_harness

    if hasattr(session.config, "workeroutput"):  # an xdist worker: hand its chains to the controller
        session.config.workeroutput["fault_chains"] = [chain.line() for chain in fault_harness.RESULTS]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    WORKER_CHAINS.extend(getattr(node, "workeroutput", {}).get("fault_chains", []))


def pytest_terminal_summary(terminalreporter):
    import fault_harness

    lines = [chain.line() for chain in fault_harness.RESULTS] + WORKER_CHAINS
    if lines:
        terminalreporter.section("fault injection (kill -9 at random points, then resume)")
        for line in lines:
            terminalreporter.write_line(line)
