"""sleuth label as a user runs it: the default SAE, the scripted LLM behind real HTTP, every output,
kill -9 at seeded random points then --resume (equal to an uninterrupted run), bad input, the page in Chromium."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sleuth.llm.fake_server import FakeLLM, Step

sys.path.insert(0, str(Path(__file__).parents[1]))
from scripted_policy import labeler  # noqa: E402
from page_check import outside_references, png_pixels, render  # noqa: E402

SLEUTH = str(Path(sys.executable).parent / "sleuth")
ARGS = ["label", "--sae", "smollm2-res-6", "--latents", "1:7", "--concurrency", "1"]


@pytest.fixture(scope="module")
def fake():
    def slow(request):  # each reply takes a moment, so a kill can land between items
        reply = labeler(request)
        return Step(content=reply, delay_s=0.15)

    with FakeLLM(responder=slow) as server:
        yield server


@pytest.fixture(scope="module")
def env(fake, label_env):
    return label_env(fake.base_url)


def run(env, *args, timeout=600):
    return subprocess.run([SLEUTH, *args], capture_output=True, text=True, env=env, timeout=timeout)


@pytest.fixture(scope="module")
def uninterrupted(env, tmp_path_factory):
    out = tmp_path_factory.mktemp("label") / "run"
    proc = run(env, *ARGS, "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    return out, json.loads(proc.stdout)


def _content(path: Path) -> str:
    if path.suffix == ".pt":  # Delphi's firing counts: compared by value
        import torch

        return json.dumps({k: v.tolist() for k, v in torch.load(path, weights_only=True).items()})
    if path.parent.name == "items":  # an item's own timing is the only thing allowed to differ
        return json.dumps({k: v for k, v in json.loads(path.read_text()).items() if k != "seconds"})
    return path.read_text()


def outputs(out: Path) -> dict[str, str]:
    """Every output file but the page and its screenshot (the page's totals include wall time)."""
    return {str(p.relative_to(out)): _content(p) for p in sorted(out.rglob("*"))
            if p.is_file() and p.suffix not in (".html", ".png") and not p.name.startswith(".")}


def test_label_writes_every_output(uninterrupted, env):
    out, totals = uninterrupted
    lines = [json.loads(line) for line in (out / "labels.jsonl").open()]
    assert [line["index"] for line in lines] == [1, 2, 3, 4, 5, 6] and totals["done"] == 6
    assert totals["validated"] >= 1 and totals["llm_tokens"] > 0 and totals["mean_read_back"] is not None
    labeled = [line for line in lines if line["label"]]
    for line in labeled:
        assert line["status"] in ("validated", "rejected") and line["rule"] and "read_back" in line["scores"] or \
            line["status"] == "rejected", line
    validated = [line for line in lines if line["status"] == "validated"]
    pedia = [json.loads(line) for line in (out / "neuronpedia.jsonl").open()]  # every label, its status beside it
    assert [(p["index"], p["status"]) for p in pedia] == [(str(v["index"]), v["status"]) for v in labeled]
    assert set(pedia[0]) == {"modelId", "source", "index", "description", "explanationModelName", "typeName", "status",
                             "scores"}
    assert pedia[0]["modelId"] == "smollm2-135m" and pedia[0]["source"].startswith("6-")
    assert {s["explanationScoreTypeName"] for p in pedia for s in p["scores"]} >= {"rule", "read_back"}
    first = validated[0]
    name = f"{first['hookpoint']}_latent{first['index']}.txt"
    assert json.loads((out / "explanations" / name).read_text()) == first["label"]
    rows = json.loads((out / "scores" / "read_back" / name).read_text())  # the reading's rule, window by window
    assert rows and set(rows[0]) == {"str_tokens", "activations", "distance", "activating", "prediction", "probability",
                                     "correct"}  # Delphi's ClassifierOutput
    assert all(r["correct"] == (r["prediction"] == r["activating"]) for r in rows)
    history = run(env, "memory", "history", first["component"], "--json")
    assert history.returncode == 0, history.stderr
    assert first["description_id"] in history.stdout


@pytest.mark.faults
def test_killed_at_random_points_then_resumed_equals_an_uninterrupted_run(uninterrupted, env, fake, tmp_path):
    import fault_harness

    reference, _ = uninterrupted
    out = tmp_path / "run"
    asked = [0]

    def command() -> list[str]:
        asked[0] = len(fake.requests)
        return [SLEUTH, *ARGS, "--out", str(out)] + (["--resume"] if (out / "label_run.json").is_file() else [])

    def working() -> bool:  # this run labels: past the schema probe's requests and the corpus scan, and (so that a
        # loaded machine still lands a kill between items) at least one item of the 6 is on disk
        return len(fake.requests) > asked[0] + 3 and progress()[0] >= 1

    def check() -> str | None:
        for path in list((out / "items").glob("*.json")) if (out / "items").is_dir() else []:
            try:
                json.loads(path.read_text())
            except ValueError:
                return f"{path.name} is torn"
        return None

    def progress() -> tuple[int, int]:  # labeled items on disk, of the 6
        return len(list((out / "items").glob("*.json"))) if (out / "items").is_dir() else 0, 6

    chain = fault_harness.kill_chain("label / label --resume", command, env, fault_harness.kills(), seed=17,
                                     delay=(0.3, 1.5), check=check, started=working, progress=progress)
    proc = run(env, *ARGS, "--out", str(out), "--resume", "--json")
    assert proc.returncode == 0, proc.stderr
    same = outputs(out) == outputs(reference)
    fault_harness.finish(chain, same)
    assert chain.tried >= 3 and chain.survived == chain.tried, chain.line()
    assert "inside" in chain.landed, chain.line()  # at least one kill with some items done and some not
    assert same
    lines = [json.loads(line) for line in (out / "labels.jsonl").open()]
    component = next(line["component"] for line in lines if line["label"])
    history = json.loads(run(env, "memory", "history", component, "--json").stdout)
    descriptions = [h for h in history if "text" in h]
    collected = [h for h in history if h.get("tool") == "label_collect"]
    assert len(descriptions) == 1 and len(collected) == 1  # the same records as the uninterrupted run: none twice


def test_bad_input_is_one_line_and_exit_2_and_nothing_is_written(uninterrupted, env, tmp_path):
    reference, _ = uninterrupted
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    cases = [
        ([*ARGS, "--out", str(foreign)], "not a label run"),
        (["label", "--sae", "smollm2-res-6", "--latents", "0:999999", "--out", str(tmp_path / "a")], "outside"),
        (["label", "--site", "blocks.99.mlp.hook_post", "--out", str(tmp_path / "b")], "layer 99 out of range"),
        (["label", "--sae", "no-such-sae", "--out", str(tmp_path / "c")], "no-such-sae"),
        (["label", "--sae", "smollm2-res-6", "--preset", "delphi", "--induce", "--out", str(tmp_path / "d")],
         "--induce needs a preset whose labels carry rules"),
        ([*ARGS, "--out", str(reference), "--resume", "--preset", "delphi"], "different settings"),
        ([*ARGS, "--out", str(reference)], "--resume"),
    ]
    before = outputs(reference)
    for args, words in cases:
        proc = run(env, *args)
        assert proc.returncode == 2, (args, proc.stderr)
        message = proc.stderr.strip()
        assert words in message and len(message.splitlines()) == 1 and "Traceback" not in message, message
    assert (foreign / "notes.txt").read_text() == "keep me" and len(list(foreign.iterdir())) == 1
    assert not any((tmp_path / n).exists() for n in "abcd")
    assert outputs(reference) == before


def test_summary_page_loads_in_chromium_with_nothing_missing(uninterrupted, tmp_path):
    out, _ = uninterrupted
    page = (out / "summary.html").read_text()
    assert "Best labels" in page and "<svg" in page
    assert not outside_references(page), outside_references(page)
    shot, dom, errors = render(out / "summary.html", tmp_path)
    assert not errors, errors
    assert "validated:" in dom and "Score distributions" in dom
    assert len(set(png_pixels(shot))) > 16, "the screenshot is blank"
    shutil.copy(shot, out / "summary.png")


@pytest.fixture
def ray_head():
    """A local Ray head on loopback with two CPUs (two label workers), stopped afterwards."""
    import socket
    import tempfile

    ray = Path(sys.executable).parent / "ray"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # Ray's socket paths must stay short
    proc = subprocess.run([str(ray), "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=2",
                           "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}"],
                          capture_output=True, text=True, env=env, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    yield f"127.0.0.1:{port}"
    subprocess.run([str(ray), "stop", "--force"], capture_output=True, env=env, timeout=120)
    shutil.rmtree(temp, ignore_errors=True)


def test_label_on_a_local_ray_cluster_equals_one_process(uninterrupted, env, ray_head, tmp_path):
    reference, _ = uninterrupted
    out = tmp_path / "ray-run"
    proc = run({**env, "RAY_USAGE_STATS_ENABLED": "0"}, *ARGS[:-2], "--concurrency", "2", "--ray", ray_head,
               "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    totals = json.loads(proc.stdout)
    assert totals["workers"] == 2 and totals["done"] == 6
    assert outputs(out) == outputs(reference)


def test_eval_split_scores_the_labels_on_documents_the_run_never_read(uninterrupted, env):
    from sleuth.corpus.windows import is_eval

    out, _ = uninterrupted
    proc = run(env, "label", "eval", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    lines = {line["index"]: line for line in map(json.loads, (out / "labels.jsonl").open()) if line["label"]}
    assert [item["index"] for item in report["items"]] == sorted(lines) and report["labels"] == len(lines)
    for item in report["items"]:
        record = json.loads(next((out / "items").glob(f"*_latent{item['index']}.json")).read_text())
        seen_docs = {w["document"] for w in record["test"]}
        seen_windows = set(record["explain_windows"]) | {w["window"] for w in record["test"]}
        assert item["windows"] and not set(item["windows"]) & seen_windows
        assert item["documents"] and all(is_eval(d) for d in item["documents"]) and not set(item["documents"]) & seen_docs
        assert 0.0 <= item["rule"] <= 1.0 and (item["read_back"] is None or 0.0 <= item["read_back"] <= 1.0)
    assert report["validated"] == sum(line["status"] == "validated" for line in lines.values())
    assert 0 <= report["validated_still_pass"] <= report["validated"]
    foreign = run(env, "label", "eval", str(out / "items"))
    assert foreign.returncode == 2 and "not a label run folder" in foreign.stderr
