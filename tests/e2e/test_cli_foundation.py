import json

import pytest


def test_help_and_version(cli):
    assert "models" in cli("--help").stdout
    assert cli("--version").stdout.startswith("sleuth ")


def test_models_list_and_info(cli):
    names = {m["name"]: m for m in json.loads(cli("models", "list", "--json").stdout)}
    assert set(names) == {"smollm2-135m", "qwen2.5-0.5b", "gemma3-270m"}
    assert names["smollm2-135m"]["installed"]
    info = json.loads(cli("models", "info", "smollm2-135m", "--json").stdout)
    assert (info["n_layers"], info["n_heads"], info["d_model"], info["d_mlp"], info["vocab_size"]) == (30, 9, 576, 1536, 49152)
    assert "blocks.29.hook_resid_post" in info["sites"] and info["load_seconds"] > 0


def test_corpus_info(cli):
    info = json.loads(cli("corpus", "info", "--json").stdout)
    assert info["tokens"] >= 2_000_000 and len(info["domains"]) >= 3 and len(info["checksum"]) == 64


def test_site_check(cli):
    data = json.loads(cli("models", "site", "smollm2-135m", "L4H5", "--json").stdout)
    assert data["site"] == "blocks.4.attn.hook_z[5]" and data["index_range"] == 9


@pytest.mark.parametrize("args, message", [
    (["models", "info", "gpt-17"], "unknown model 'gpt-17'; embedded models: smollm2-135m"),
    (["models", "site", "smollm2-135m", "blocks.31.hook_resid_post"], "layers 0..29"),
    (["models", "site", "smollm2-135m", "blocks.3.attn.hook_z[12]"], "heads are 0..8"),
    (["models", "site", "smollm2-135m", "blocks.3.mlp.hook_wat"], "unknown hook"),
    (["corpus", "info", "/nonexistent/corpus"], "corpus path not found"),
])
def test_bad_input_is_one_line_and_nonzero(cli, args, message):
    proc = cli(*args, ok=False)
    assert proc.returncode != 0
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_empty_corpus(cli, tmp_path):
    (tmp_path / "empty.txt").write_text("")
    proc = cli("corpus", "info", str(tmp_path / "empty.txt"), ok=False)
    assert proc.returncode != 0 and "empty" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("args, says", [
    (["nosuchcmd"], "No such command 'nosuchcmd'"),
    (["ask", "--nosuch"], "No such option: --nosuch"),
    (["models", "info"], "Missing argument 'name'"),
    (["sae", "train", "--site", "blocks.1.hook_resid_post", "--out", "x", "--width", "0"], "invalid width"),
    (["sae", "train", "--site", "blocks.1.hook_resid_post", "--out", "x", "--lr", "-1"], "invalid lr"),
])
def test_usage_errors_are_usage_lines_with_exit_2_not_tracebacks(cli, args, says):
    proc = cli(*args, ok=False)
    assert proc.returncode == 2 and says in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
