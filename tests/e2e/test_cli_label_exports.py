"""A real label run (Delphi's preset, the scripted LLM behind real HTTP) read by the outside tools' own code:
Delphi's analysis (eai-delphi 0.1.3's load_data and metrics) and the neuronpedia package (1.2.1), whose upload
goes to a loopback fake of Neuronpedia's API."""

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from sleuth.llm.fake_server import FakeLLM

sys.path.insert(0, str(Path(__file__).parents[1]))
from scripted_policy import labeler  # noqa: E402

SLEUTH = str(Path(sys.executable).parent / "sleuth")
HOOKPOINT = "blocks.6.hook_resid_post@smollm2-res-6"
KEY = "np-secret-test-key-7c1f"
DELPHI_SCORERS = {"detection": "detection", "fuzz": "fuzzing"}  # Delphi's folder -> sleuth's scorer


def delphi_analysis():
    """Delphi's own analysis module, from the --no-deps copy `make setup` puts beside the virtual environment."""
    where = Path(sys.prefix) / "delphi"
    assert where.is_dir(), f"{where} is missing: make setup installs eai-delphi there"
    sys.path.insert(0, str(where))
    import delphi
    import delphi.log.result_analysis as analysis

    assert delphi.__version__ == "0.1.3"
    return analysis


@pytest.fixture(scope="module")
def env(label_env):
    with FakeLLM(responder=labeler) as fake:
        yield label_env(fake.base_url)


def run(env, *args, timeout=900):
    return subprocess.run([SLEUTH, *args], capture_output=True, text=True, env=env, timeout=timeout)


@pytest.fixture(scope="module")
def delphi_run(env, tmp_path_factory):
    out = tmp_path_factory.mktemp("label-delphi") / "run"
    proc = run(env, "label", "--sae", "smollm2-res-6", "--latents", "1:5", "--preset", "delphi", "--no-refine",
               "--concurrency", "1", "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    labels = {line["index"]: line for line in map(json.loads, (out / "labels.jsonl").open())}
    return out, labels


def test_delphi_s_own_analysis_reads_the_run_and_agrees_with_sleuth_s_scores(delphi_run):
    analysis = delphi_analysis()
    out, labels = delphi_run
    frame, counts = analysis.load_data(out / "scores", [HOOKPOINT])
    assert set(frame["score_type"]) == {"detection", "fuzz"}
    compared = 0
    for (folder, latent), rows in frame.groupby(["score_type", "latent_idx"]):
        metrics = analysis.compute_classification_metrics(analysis.compute_confusion(rows))
        ours = labels[latent]["scores"][DELPHI_SCORERS[folder]]
        assert metrics["accuracy"] == pytest.approx(ours, abs=1e-3), (folder, latent)
        compared += 1
    scored = sum(name in line["scores"] for line in labels.values() for name in DELPHI_SCORERS.values())
    assert compared == scored >= 4  # every score sleuth kept is in Delphi's files, and nothing else
    # the firing counts: one per latent of the SAE, so Delphi's frequency-weighted F1 is defined
    assert counts is not None and counts[HOOKPOINT].shape == (2048,) and int(counts[HOOKPOINT][1]) > 0
    assert analysis.frequency_weighted_f1(frame[frame["score_type"] == "detection"], counts) is not None
    assert analysis.compute_auc(frame) is None  # sleuth's judges give no probabilities; none are made up
    for latent, line in labels.items():
        if line["label"]:
            name = f"{HOOKPOINT}_latent{latent}.txt"
            assert json.loads((out / "explanations" / name).read_text()) == line["label"]
    config = json.loads((out / "run_config.json").read_text())
    assert config["hookpoints"] == [HOOKPOINT] and config["scorers"] == ["detection", "fuzz"]


class FakeNeuronpedia(BaseHTTPRequestHandler):
    """Neuronpedia's API as the package calls it: a source set by name, and batch uploads."""

    uploads: list = []
    keys: list = []

    def _reply(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # /api/source-set/<model>/<name>
        self.keys.append(self.headers.get("X-Api-Key"))
        parts = self.path.strip("/").split("/")
        if parts[:2] != ["api", "source-set"] or len(parts) != 4:
            return self._reply(404, {"message": "not found"})
        model, name = parts[2], parts[3]
        self._reply(200, {"name": name, "modelId": model, "description": None, "urls": [],
                          "sources": [{"id": f"{n}-{name}", "modelId": model, "setName": name} for n in range(30)]})

    def do_POST(self):  # /api/feature/upload-batch
        self.keys.append(self.headers.get("X-Api-Key"))
        if self.path != "/api/feature/upload-batch":
            return self._reply(404, {"message": "not found"})
        self.uploads.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self._reply(200, {"ok": True})

    def log_message(self, *args):
        pass


@pytest.fixture
def neuronpedia_api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeNeuronpedia)
    FakeNeuronpedia.uploads, FakeNeuronpedia.keys = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/api", FakeNeuronpedia
    server.shutdown()


def test_neuronpedia_batch_is_the_package_s_own_types_and_uploads_through_it(delphi_run, env, neuronpedia_api, tmp_path):
    from neuronpedia.np_explanation import Explanation

    from sleuth.label.neuronpedia import read_batch

    out, labels = delphi_run
    url, api = neuronpedia_api
    labeled = {i: line for i, line in labels.items() if line["label"]}
    # every line of neuronpedia.jsonl is Neuronpedia's explanation form (its `source` key included)
    lines = [Explanation.from_np_db_json(json.loads(line)) for line in (out / "neuronpedia.jsonl").open()]
    assert [e.index for e in lines] == sorted(labeled) and all(e.source == "6-smollm2-res-6" for e in lines)

    batch = tmp_path / "batch.json"
    offline = run(env, "label", "export", "neuronpedia", str(out), "--source-set", "sleuth-res", "--out", str(batch), "--json")
    assert offline.returncode == 0, offline.stderr
    summary = json.loads(offline.stdout)
    assert summary["features"] == len(labeled) and summary["uploaded"] == 0 and not api.uploads
    model_id, source, features = read_batch(batch)
    assert (model_id, source) == ("smollm2-135m", "6-sleuth-res")
    for feature in features:
        line = labeled[feature.index]
        (explanation,) = feature.explanations
        assert explanation.text == line["label"] and explanation.method == f"sleuth-{line['status']}"
        assert feature.density > 0 and feature.activations
        values = [max(a.values) for a in feature.activations]
        assert values == sorted(values, reverse=True)  # strongest first
        binned = [a for a in feature.activations if a.quantileFraction is not None]
        assert binned and all(a.quantileMin <= max(a.values) + 1e-3 and max(a.values) <= a.quantileMax + 1e-3
                              for a in binned)  # each window's peak lies in its own quantile bin
    sidecar = {s["index"]: s for s in json.loads(batch.read_text())["sleuth"]}
    assert {i: s["status"] for i, s in sidecar.items()} == {i: line["status"] for i, line in labeled.items()}

    sent = run({**env, "NEURONPEDIA_API_KEY": KEY, "SLEUTH_NEURONPEDIA_URL": url}, "label", "export", "neuronpedia",
               str(out), "--source-set", "sleuth-res", "--out", str(batch), "--upload", "--json")
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["uploaded"] == len(labeled)  # stdout is the JSON alone
    (payload,) = api.uploads
    assert payload["modelId"] == "smollm2-135m" and payload["source"] == "6-sleuth-res"
    assert [f["index"] for f in payload["features"]] == sorted(labeled)
    assert set(api.keys) == {KEY} and KEY not in sent.stdout + sent.stderr

    keyless = {k: v for k, v in env.items() if k != "NEURONPEDIA_API_KEY"}
    refused = run({**keyless, "SLEUTH_NEURONPEDIA_URL": url}, "label", "export", "neuronpedia", str(out), "--upload")
    assert refused.returncode == 2 and "NEURONPEDIA_API_KEY" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and len(api.uploads) == 1

    not_a_run = run(env, "label", "export", "neuronpedia", str(tmp_path))
    assert not_a_run.returncode == 2 and "not a label run folder" in not_a_run.stderr
