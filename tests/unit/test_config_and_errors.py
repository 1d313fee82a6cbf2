import os
from pathlib import Path

import pytest

from sleuth.config import load_settings
from sleuth.corpus.windows import is_heldout
from sleuth.errors import ConfigError, SleuthError
from sleuth.gguf_files import is_valid_gguf, join_parts


def test_env_overrides_config_file(tmp_path, monkeypatch):
    (tmp_path / "sleuth.toml").write_text('model = "gemma3-270m"\n[llm]\nbase_url = "http://127.0.0.1:9/v1"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SLEUTH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SLEUTH_LLM_BASE_URL", raising=False)
    settings = load_settings()
    assert settings.model == "gemma3-270m"
    assert settings.llm.base_url == "http://127.0.0.1:9/v1"
    assert settings.home == tmp_path / "home"
    monkeypatch.setenv("SLEUTH_LLM_BASE_URL", "http://127.0.0.1:8/v1")
    assert load_settings().llm.base_url == "http://127.0.0.1:8/v1"


def test_bad_config_file_is_one_clear_error(tmp_path, monkeypatch):
    (tmp_path / "sleuth.toml").write_text("model = [unclosed\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_settings()


def test_errors_are_one_line():
    assert str(SleuthError("first line\nsecond line")) == "first line"


def test_heldout_split_is_deterministic_and_about_a_fifth():
    ids = [f"doc:{i}" for i in range(5000)]
    first = [is_heldout(i) for i in ids]
    assert first == [is_heldout(i) for i in ids]
    assert 0.17 < sum(first) / len(first) < 0.23


def test_join_parts_rebuilds_a_partial_file(tmp_path: Path):
    parts = [tmp_path / "a", tmp_path / "b"]
    parts[0].write_bytes(b"GGUF" + b"x" * 10)
    parts[1].write_bytes(b"y" * 7)
    out = tmp_path / "model.gguf"
    out.write_bytes(b"GGUF-truncated")  # wrong size: must be rebuilt
    join_parts(parts, out)
    assert out.read_bytes() == b"GGUF" + b"x" * 10 + b"y" * 7
    assert is_valid_gguf(out, 21)


def test_a_killed_join_leaves_nothing_behind_after_the_next_one(tmp_path: Path):
    parts = [tmp_path / "a", tmp_path / "b"]
    parts[0].write_bytes(b"GGUF" + b"x" * 10)
    parts[1].write_bytes(b"y" * 7)
    out = tmp_path / "model.gguf"
    (tmp_path / "model.partial-4242").write_bytes(b"GGUF" + b"x" * 5)  # what a kill mid-join leaves
    join_parts(parts, out)
    assert is_valid_gguf(out, 21) and not list(tmp_path.glob("*.partial-*"))


def test_one_lock_helper_refuses_a_held_lock_with_one_line(tmp_path: Path):
    import subprocess
    import sys

    from sleuth.locks import LockBusy, file_lock

    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom pathlib import Path\n"
                               "from sleuth.locks import file_lock\n"
                               f"with file_lock(Path({str(tmp_path / 'x.lock')!r})):\n"
                               "    print('held', flush=True); time.sleep(30)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LockBusy, match=r"x is in use by pid \d+"):
            with file_lock(tmp_path / "x.lock", timeout_s=0.3, what="x"):
                pass
    finally:
        holder.kill()
        holder.wait()
    with file_lock(tmp_path / "x.lock", timeout_s=0):  # a dead holder's lock is free at once (flock)
        pass


@pytest.mark.parametrize("url, where, sent", [
    ("http://203.0.113.9:8000/v1", "workdir", False),  # someone else's folder names a plain-http server
    ("https://llm.example.org/v1", "workdir", True),
    ("http://127.0.0.1:8000/v1", "workdir", True),
    ("http://203.0.113.9:8000/v1", "env", True),  # the user chose it
    ("http://203.0.113.9:8000/v1", "user_config", True),
])
def test_an_api_key_goes_only_where_the_user_sent_it(tmp_path, monkeypatch, url, where, sent):
    from sleuth.config import load_settings
    from sleuth.llm import llm_config

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SLEUTH_CONFIG", raising=False)
    monkeypatch.delenv("SLEUTH_LLM_BASE_URL", raising=False)
    monkeypatch.delenv("SLEUTH_LLM_SEND_KEY", raising=False)
    monkeypatch.setenv("SLEUTH_LLM_API_KEY", "sk-test-secret")
    if where == "workdir":
        (tmp_path / "sleuth.toml").write_text(f'[llm]\nbase_url = "{url}"\nbase_url_trusted = true\n')
    elif where == "user_config":
        (tmp_path / "mine.toml").write_text(f'[llm]\nbase_url = "{url}"\n')
        monkeypatch.setenv("SLEUTH_CONFIG", str(tmp_path / "mine.toml"))
    else:
        monkeypatch.setenv("SLEUTH_LLM_BASE_URL", url)
    s = load_settings().llm
    cfg = llm_config(s.base_url, s.model, trusted_url=s.base_url_trusted)
    assert cfg.base_url == url and (cfg.api_key is not None) == sent
    monkeypatch.setenv("SLEUTH_LLM_SEND_KEY", "1")  # the explicit opt-in
    assert llm_config(s.base_url, s.model, trusted_url=s.base_url_trusted).api_key is not None


@pytest.mark.parametrize("manifest", ["not json {", "null", "[1, 2]"])
def test_a_run_folder_whose_manifest_is_no_manifest_is_refused_and_kept(tmp_path: Path, manifest):
    from sleuth.run_folder import claim

    (tmp_path / "run.json").write_text(manifest)
    for resume in (False, True):
        with pytest.raises(ConfigError, match="unreadable; not continuing"):
            claim(tmp_path, "run.json", "a run", resume, ConfigError)
    assert (tmp_path / "run.json").read_text() == manifest


def test_one_writer_per_run_folder_checked_under_its_lock(tmp_path: Path):
    from sleuth.locks import LockBusy
    from sleuth.run_folder import WRITER_LOCK, held

    out = tmp_path / "run"
    with held(out, "run.json", "a run", False, ConfigError) as saved:
        assert saved is None and (out / WRITER_LOCK).is_file()
        with pytest.raises(LockBusy, match=rf"a run {out} is in use by pid {os.getpid()}"):
            with held(out, "run.json", "a run", False, ConfigError):  # a second new run, before any manifest
                pass
        (out / "run.json").write_text('{"fingerprint": "a"}')
        with pytest.raises(LockBusy, match=rf"a run {out} is in use by pid {os.getpid()}"):
            with held(out, "run.json", "a run", True, ConfigError):  # a --resume beside the running one
                pass
    with pytest.raises(ConfigError, match="already holds a run; pass --resume"):  # the second new run, after it
        with held(out, "run.json", "a run", False, ConfigError):
            pass
    with held(out, "run.json", "a run", True, ConfigError) as saved:
        assert saved == {"fingerprint": "a"}
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / WRITER_LOCK).write_text("pid 1")  # a run killed before its manifest: the folder is still empty
    with held(fresh, "run.json", "a run", False, ConfigError) as saved:
        assert saved is None
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep")
    with pytest.raises(ConfigError, match="exists and is not a run"):
        with held(foreign, "run.json", "a run", False, ConfigError):
            pass
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]  # not even a lock file was made there


def test_sae_training_never_touches_siblings_that_are_not_its_own(tmp_path: Path):
    from sleuth.sae.dictionary import SaeError
    from sleuth.sae.train import refuse_foreign_siblings

    out = tmp_path / "sae"
    refuse_foreign_siblings(out)  # nothing there: fine
    (tmp_path / "sae.lock").write_text("my own notes")
    with pytest.raises(SaeError, match="sae.lock exists and is not a training's lock file"):
        refuse_foreign_siblings(out)
    (tmp_path / "sae.lock").write_text("pid 42")
    (tmp_path / "sae.train").mkdir()
    (tmp_path / "sae.train" / "results.csv").write_text("mine")
    with pytest.raises(SaeError, match="sae.train exists and is not a training's checkpoint folder"):
        refuse_foreign_siblings(out)
    assert (tmp_path / "sae.train" / "results.csv").read_text() == "mine"
    (tmp_path / "sae.train" / "results.csv").unlink()
    (tmp_path / "sae.train" / "spec.json").write_text("{}")
    refuse_foreign_siblings(out)  # a checkpoint a run left: ours to resume or remove
