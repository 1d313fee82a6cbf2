"""sleuth sae train / eval / list and the SAE tools, driven as a user would."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from sleuth.sae.format import CFG_FILE, WEIGHTS_FILE

SLEUTH = str(Path(sys.executable).parent / "sleuth")
SMALL = ["--site", "blocks.1.hook_resid_post", "--arch", "topk", "--width", "128", "--k", "8", "--batch", "512"]


def _one_line_error(proc, message):
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_train_eval_and_reload_in_sae_lens(cli, tmp_path):
    out = tmp_path / "sae"
    proc = cli("sae", "train", *SMALL, "--tokens", "4k", "--out", str(out), "--json")
    record = json.loads(proc.stdout)
    assert record["tokens"] >= 4000 and record["final"]["l0"] == pytest.approx(8, abs=0.5)
    evaluation = json.loads(cli("sae", "eval", str(out), "--windows", "8", "--json").stdout)
    assert evaluation["l0"] == pytest.approx(8, abs=0.5) and 0 < evaluation["fvu"] < 2
    assert evaluation["ce_clean"] < evaluation["ce_zero_ablation"]
    assert sum(evaluation["density"]["counts"]) + evaluation["density"]["never_fired"] == 128
    import sae_lens

    theirs = sae_lens.SAE.load_from_disk(str(out))
    assert theirs.cfg.d_sae == 128 and theirs.cfg.metadata.hook_name == "blocks.1.hook_resid_post"
    assert theirs.cfg.metadata.model_name == "smollm2-135m"


@pytest.mark.faults
def test_training_killed_at_random_points_then_resumed_equals_an_uninterrupted_run(sleuth_home, cli, tmp_path):
    import fault_harness

    from sleuth.sae.format import load_dictionary

    train = [*SMALL, "--tokens", "160k", "--checkpoint-every", "3"]
    reference = tmp_path / "reference"
    cli("sae", "train", *train, "--out", str(reference))
    out = tmp_path / "sae"
    staging = out.with_name("sae.train")

    def check() -> str | None:
        if out.exists():  # the finished SAE appears whole or not at all
            try:
                load_dictionary(out)
            except Exception as exc:
                return f"the output is torn: {exc}"
        spec = staging / "spec.json"
        if spec.exists():
            try:
                json.loads(spec.read_text())
            except ValueError:
                return "spec.json is torn"
        return None

    launched = [0.0]

    def command() -> list[str]:
        launched[0] = time.time()
        return [SLEUTH, "sae", "train", *train, "--out", str(out), "--resume"]

    def training() -> bool:  # this run has written a checkpoint of its own: the kill lands in training
        try:
            return (staging / "state" / "complete").stat().st_mtime > launched[0]
        except OSError:
            return False

    def progress() -> tuple[int, int]:  # tokens trained as the last whole checkpoint says, of the run's
        if (out / CFG_FILE).exists():
            return 1, 1
        try:
            saved = json.loads((staging / "state" / "complete").read_text())
            return saved["tokens"], saved["of"]
        except (OSError, ValueError, KeyError):
            return 0, 1

    chain = fault_harness.kill_chain("sae train --resume", command, dict(os.environ), fault_harness.kills(), seed=9,
                                     delay=(0.0, 1.2), check=check, started=training,
                                     done=lambda: (out / CFG_FILE).exists(), progress=progress)
    if not (out / CFG_FILE).exists():
        cli("sae", "train", *train, "--out", str(out), "--resume")
    ours, theirs = load_dictionary(out).state_dict(), load_dictionary(reference).state_dict()
    same = ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in ours)
    fault_harness.finish(chain, same)
    assert chain.tried >= 3 and chain.survived == chain.tried, chain.line()
    assert "inside" in chain.landed, chain.line()  # kills landed in the middle of training, between checkpoints
    assert same, "the resumed weights differ from an uninterrupted run's"
    assert not staging.exists()


def test_list_shows_the_default_sae(cli, default_sae_path):
    rows = json.loads(cli("sae", "list", "--json").stdout)
    default = next(r for r in rows if r.get("default"))
    assert default["name"] == "smollm2-res-6" and default["available"]


@pytest.mark.parametrize("columns", [80, 200])
def test_list_keeps_every_name_and_site_whole_in_any_terminal(columns, sleuth_home):
    proc = subprocess.run([SLEUTH, "sae", "list"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": str(columns)})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert all(len(line) <= columns for line in lines), lines
    for row in json.loads(subprocess.run([SLEUTH, "sae", "list", "--json"], capture_output=True, text=True,
                                         timeout=120).stdout):
        table_row = next(line for line in lines if line.startswith(row["name"] + " "))
        assert row["site"] in table_row and row["model"] in table_row  # never cut to "blocks.6.…"
        assert row["description"].split()[0] in proc.stdout


def test_tools_run_takes_an_sae(cli, default_sae_path):
    args = json.dumps({"sae": "smollm2-res-6", "texts": ["Paris is the capital of France."], "top_k": 3})
    out = json.loads(cli("tools", "run", "sae_encode", "--sae", "smollm2-res-6", "--args", args, "--json").stdout)
    assert out["data"]["top_latents"] and out["provenance"]["tool"] == "sae_encode"
    site = "blocks.6.hook_resid_post@smollm2-res-6[" + str(out["data"]["top_latents"][0]["latent"]) + "]"
    acts = json.loads(cli("tools", "run", "activations", "--sae", "smollm2-res-6", "--args",
                          json.dumps({"site": site, "texts": ["Paris is the capital of France."]}), "--json").stdout)
    assert acts["data"]["per_text"][0]["max_value"] > 0


def _write_sae(path: Path, cfg: dict, d_in: int, d_sae: int = 8):
    from safetensors.torch import save_file

    path.mkdir(parents=True)
    (path / CFG_FILE).write_text(json.dumps(cfg))
    save_file({"W_enc": torch.zeros(d_in, d_sae), "b_enc": torch.zeros(d_sae), "W_dec": torch.zeros(d_sae, d_in),
               "b_dec": torch.zeros(d_in)}, str(path / WEIGHTS_FILE))


@pytest.mark.parametrize("case, message", [
    ("d_in mismatch", "d_in 100"),
    ("unknown architecture", "unknown SAE architecture"),
    ("corrupt weights", "corrupt weights file"),
    ("site not on model", "layer 77 out of range"),
])
def test_bad_saes_are_one_line_errors(cli, tmp_path, case, message):
    path = tmp_path / "bad"
    meta = {"hook_name": "blocks.6.hook_resid_post", "sae_lens_version": "6.0.0"}
    if case == "d_in mismatch":
        _write_sae(path, {"d_in": 100, "d_sae": 8, "architecture": "standard", "metadata": meta}, 100)
    elif case == "unknown architecture":
        _write_sae(path, {"d_in": 576, "d_sae": 8, "architecture": "gated-xl", "metadata": meta}, 576)
    elif case == "corrupt weights":
        _write_sae(path, {"d_in": 576, "d_sae": 8, "architecture": "standard", "metadata": meta}, 576)
        (path / WEIGHTS_FILE).write_bytes(b"not a safetensors file at all")
    else:
        _write_sae(path, {"d_in": 576, "d_sae": 8, "architecture": "standard",
                          "metadata": {**meta, "hook_name": "blocks.77.hook_resid_post"}}, 576)
    _one_line_error(cli("sae", "eval", str(path), ok=False), message)


@pytest.mark.parametrize("args, message", [
    (["--arch", "gated-xl"], "unknown SAE architecture"),
    (["--site", "blocks.40.hook_resid_post"], "layer 40 out of range"),
    (["--site", "blocks.1.hook_nowhere"], "unknown hook"),
    (["--tokens", "lots"], "--tokens must be a count"),
])
def test_bad_training_requests_are_one_line_errors(cli, tmp_path, args, message):
    base = {"--site": "blocks.1.hook_resid_post", "--arch": "topk", "--tokens": "1k"}
    base.update(dict(zip(args[::2], args[1::2])))
    flat = [x for kv in base.items() for x in kv]
    _one_line_error(cli("sae", "train", *flat, "--out", str(tmp_path / "x"), ok=False), message)
    assert not (tmp_path / "x").exists()
