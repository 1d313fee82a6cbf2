"""sleuth label's pipeline on real SmolLM2 with the scripted LLM behind real HTTP: a planted unit's
labels can pass and fail, blind judges score at chance, LLM faults fail only their items, and no
test example comes from the explain split."""

import json
import random
import re
import sys
from pathlib import Path

import pytest

from sleuth.config import AgentSettings
from sleuth.label import PRESETS, LabelSpec
from sleuth.label.collect import collect
from sleuth.label.neuronpedia import explanation_line
from sleuth.label.item import label_item
from sleuth.label.items import items_for, whole_site
from sleuth.label.records import INDUCED_EXPLAINER
from sleuth.label.run import LabelRun
from sleuth.llm import LLMClient, LLMConfig
from sleuth.llm.fake_server import FakeLLM, Step
from sleuth.memory import open_store
from sleuth.predicates import SyntheticComponent
from sleuth.predicates.suite import SuiteComponent
from sleuth.tools import ToolContext

sys.path.insert(0, str(Path(__file__).parents[1]))
from scripted_policy import labeler  # noqa: E402

THE = SuiteComponent(name="the", description="Fires on the word 'the'.", category="lexical", source="test",
                     unit=SyntheticComponent(fn={"token_in": ["the"]}))
A = AgentSettings()
# the detection judge and the words-vs-rule check (the sleuth preset checks words with read_back by default)
JUDGED = PRESETS["sleuth"].model_copy(update={"scorers": ["rule", "detection", "words_match_rule"]})


def spec_for(target, source: str, units: list[int], **changes) -> LabelSpec:
    values = dict(model=target.name, source=source, source_kind="site", units=units, preset=JUDGED,
                  thresholds=A.thresholds, explain_windows=128, heldout_windows=128, llm="fake-model")
    return LabelSpec(**{**values, **changes})


@pytest.fixture(scope="module")
def ctx(smollm, sleuth_home):
    smollm.attach_synthetic("label.the", THE)
    return ToolContext(target=smollm, home=sleuth_home)


@pytest.fixture(scope="module")
def planted(ctx):
    site, _ = whole_site(ctx.target, "synthetic.label.the")
    item = items_for(site, [0])[0]
    spec = spec_for(ctx.target, str(site), [0], refine=False)
    return spec, collect(ctx, spec, site, [item])[item.key]


def _client(fake, **cfg) -> LLMClient:
    return LLMClient(LLMConfig(base_url=fake.base_url, model="fake-model", **cfg))


def _label(reply):
    """An explainer that always gives `reply`; the scripted judge answers the rest."""
    def respond(request):
        title = ((request.get("response_format") or {}).get("schema") or {}).get("title")
        return reply if title == "LabelDraft" else labeler(request)
    return respond


def test_a_planted_unit_passes_with_its_label_and_fails_with_a_wrong_one(planted, ctx):
    spec, collected = planted
    spec = spec.model_copy(update={"preset": spec.preset.model_copy(update={"induce": False})})  # the LLM's words alone
    with FakeLLM(responder=labeler) as fake:
        right = label_item(collected, spec, _client(fake), None, ctx, None)
    with FakeLLM(responder=_label({"label": "Fires on the token 'zebra'.", "rule": {"token_in": ["zebra"]}})) as fake:
        wrong = label_item(collected, spec, _client(fake), None, ctx, None)
    assert right.label == "Fires on the token 'the'." and right.status == "validated", right.reason
    assert right.score("detection")["value"] >= 0.9 and right.score("rule")["value"] >= 0.9
    assert right.score("detection")["details"]["precision"] >= 0.9
    assert wrong.status == "rejected" and wrong.score("detection")["value"] <= 0.6 and wrong.score("rule")["value"] == 0
    assert right.llm_tokens > 0 and right.llm_calls >= 2
    # --exact-first: the failed rule rejects before a judge reads the wrong words; the judges are kept, unscored
    with FakeLLM(responder=_label({"label": "Fires on the token 'zebra'.", "rule": {"token_in": ["zebra"]}})) as fake:
        gated = label_item(collected, spec.model_copy(update={"exact_first": True}), _client(fake), None, ctx, None)
    assert gated.status == "rejected" and gated.score("rule")["value"] == 0
    assert [gated.score(n)["status"] for n in ("detection", "words_match_rule")] == ["unscored", "unscored"]
    assert "not run: rule 0.00" in gated.score("detection")["reason"] and gated.llm_tokens < wrong.llm_tokens


def test_read_back_checks_the_label_s_words_and_rule_alone_never_validates(planted, ctx):
    spec, collected = planted
    assert PRESETS["sleuth"].scorers == ["rule", "read_back"]  # the default preset's words check
    preset = PRESETS["sleuth"].model_copy(update={"induce": False})
    spec = spec.model_copy(update={"preset": preset})
    with FakeLLM(responder=labeler) as fake:
        right = label_item(collected, spec, _client(fake), None, ctx, None)
    # the words are read back as a rule (the scripted reader takes the quoted words) and scored on the test windows
    assert right.status == "validated" and right.score("read_back")["status"] == "scored", right.reason
    assert right.score("read_back")["details"]["read_rule"] == {"token_in": ["the"]}
    windows = right.score("read_back")["details"]["windows"]  # per test window: does the reading fire there
    answers = [w["answer"] for w in windows]
    assert len(answers) == len(collected.test) and any(answers) and not all(answers)
    vague = {"label": "Responds to specific tokens in the input.", "rule": {"token_in": ["the"]}}
    with FakeLLM(responder=_label(vague)) as fake:
        wrong = label_item(collected, spec, _client(fake), None, ctx, None)
    assert wrong.score("rule")["passed"] and wrong.status == "rejected" and "read back as a rule" in wrong.reason
    # a preset whose only words scorer cannot apply here (steering a synthetic unit) never validates on rule alone
    steer = spec.model_copy(update={"preset": preset.model_copy(update={"scorers": ["rule", "intervention"]})})
    with FakeLLM(responder=labeler) as fake:
        alone = label_item(collected, steer, _client(fake), None, ctx, None)
    assert alone.score("intervention")["status"] == "not_applicable" and alone.status == "failed", alone.reason


def test_code_s_rule_replaces_a_wrong_llm_label_only_where_it_fits_better(planted, ctx):
    spec, collected = planted  # the sleuth preset: code's rule search competes with the LLM's draft
    with FakeLLM(responder=_label({"label": "Fires on the token 'zebra'.", "rule": {"token_in": ["zebra"]}})) as fake:
        replaced = label_item(collected, spec, _client(fake), None, ctx, None)
    assert replaced.label == "Fires on the word 'the' (any case)." and replaced.rule == {"token_in": ["the"]}
    assert replaced.explainer == INDUCED_EXPLAINER and replaced.status == "validated", replaced.reason
    assert replaced.score("detection")["value"] >= 0.9  # the judges read code's words, as they would the LLM's
    assert explanation_line(spec, replaced, None)["explanationModelName"] == INDUCED_EXPLAINER  # never the LLM's name
    with FakeLLM(responder=labeler) as fake:  # a right LLM label fits as well as code's rule: the LLM's words stay
        kept = label_item(collected, spec, _client(fake), None, ctx, None)
    assert kept.label == "Fires on the token 'the'." and kept.explainer == "fake-model"
    assert (replaced.written_by, kept.written_by) == ("code", "llm") and not replaced.rule_syntax  # who wrote the words
    assert json.loads(replaced.model_dump_json())["written_by"] == "code"  # kept in the item file and labels.jsonl


@pytest.mark.parametrize("judge", ["always_true", "alternating", "random"])
def test_a_judge_that_ignores_the_label_scores_at_chance(planted, ctx, judge):
    spec, collected = planted
    rng, calls = random.Random(0), [0]

    def respond(request):
        title = ((request.get("response_format") or {}).get("schema") or {}).get("title")
        if title != "Judgements":
            return labeler(request)
        n = int(re.search(r"exactly (\d+) booleans", request["messages"][-1]["content"]).group(1))
        calls[0] += 1
        pick = {"always_true": lambda i: True, "alternating": lambda i: i % 2 == 0, "random": lambda i: rng.random() < 0.5}
        return {"answers": [pick[judge](i) for i in range(n)]}

    with FakeLLM(responder=respond) as fake:
        record = label_item(collected, spec, _client(fake), None, ctx, None)
    detection = record.score("detection")["value"]
    assert abs(detection - 0.5) <= 0.2 and record.status != "validated", (judge, detection)


def test_llm_faults_fail_only_their_items_with_reasons(ctx, tmp_path, sleuth_home):
    site, width = whole_site(ctx.target, "blocks.3.mlp.hook_post")
    units = [0, 1, 2, 3, 4, 5]
    faults = {"[1]": Step(fault="500"), "[2]": "this is not JSON at all", "[3]": Step(fault="timeout")}

    def respond(request):
        prompt = "\n".join(m["content"] for m in request["messages"])  # retries too
        for marker, reply in faults.items():
            if f"hook_post{marker}" in prompt:
                return reply
        return labeler(request)

    spec = spec_for(ctx.target, str(site), units, refine=False)
    store = open_store(tmp_path, path=tmp_path / "memory")
    with FakeLLM(responder=respond, timeout_delay_s=3.0) as fake:
        client = _client(fake, max_retries=1, timeout_s=1.5, backoff_base_s=0.01)
        run = LabelRun(spec=spec, out=tmp_path / "out", ctx=ctx, site=site, items=items_for(site, units), llm=client,
                       store=store, embed=None, concurrency=2)
        totals = run.run()
    lines = {json.loads(line)["index"]: json.loads(line) for line in (tmp_path / "out" / "labels.jsonl").open()}
    assert sorted(lines) == units and totals["done"] == 6
    for unit in (1, 2, 3):
        assert lines[unit]["status"] == "failed" and lines[unit]["label"] is None, lines[unit]
        assert lines[unit]["reason"].startswith("explain:"), lines[unit]["reason"]
    assert "valid LabelDraft" in lines[2]["reason"]
    for unit in (0, 4, 5):
        assert lines[unit]["status"] in ("validated", "rejected") and lines[unit]["label"], lines[unit]
    assert not list((tmp_path / "out" / "explanations").glob("*latent1.txt"))  # no placeholder label anywhere
    # every test window is from held-out documents, every explain window from the explain split
    windows = ctx.windows
    for path in (tmp_path / "out" / "items").glob("*.json"):
        record = json.loads(path.read_text())
        assert all(windows.heldout[w["window"]] for w in record["test"])
        assert not any(windows.heldout[w] for w in record["explain_windows"])
        explain_docs = {int(windows.doc_index[w]) for w in record["explain_windows"]}
        assert not explain_docs & {int(windows.doc_index[w["window"]]) for w in record["test"]}
    stored = store.get(lines[0]["description_id"])
    assert stored is not None and stored.text == lines[0]["label"] and stored.evidence_ids
    # --resume tries the transient failures (a 5xx, a reply that never parsed, a timeout) again; on main it
    # kept them failed for good
    before = {u: json.loads((tmp_path / "out" / "items" / f"{site}_latent{u}.json").read_text()) for u in units}
    assert all(before[u]["transient"] and before[u]["attempts"] == 1 for u in (1, 2, 3))
    with FakeLLM(responder=labeler) as fake:
        again = LabelRun(spec=spec, out=tmp_path / "out", ctx=ctx, site=site, items=items_for(site, units),
                         llm=_client(fake), store=store, embed=None, concurrency=2).run()
    assert again["resumed"] == 3 and again["failed"] == 0 and again["done"] == 6
    after = {u: json.loads((tmp_path / "out" / "items" / f"{site}_latent{u}.json").read_text()) for u in units}
    assert all(after[u]["attempts"] == 2 and after[u]["label"] for u in (1, 2, 3))
    assert all(after[u] == before[u] for u in (0, 4, 5))  # finished items are not labeled twice


def test_heads_are_items_read_as_their_output_norm(ctx):
    site, width = whole_site(ctx.target, "blocks.18.attn.hook_z")
    assert width == ctx.target.shape.n_heads
    items = items_for(site, [5, 6])
    assert [i.component for i in items] == ["blocks.18.attn.hook_z[5]", "blocks.18.attn.hook_z[6]"]
    collected = collect(ctx, spec_for(ctx.target, str(site), [5, 6]), site, items)
    for item in items:
        c = collected[item.key]
        assert c.explain and c.test and c.max > 0
        assert all(v >= 0 for w in c.test for v in w.values)  # a norm
        assert all(ctx.windows.heldout[w.window] for w in c.test)


def test_an_llm_outage_stops_the_run_and_resume_labels_the_rest(ctx, tmp_path):
    from sleuth.llm import LLMUnreachable

    site, _ = whole_site(ctx.target, "blocks.3.mlp.hook_post")
    units = [0, 4]
    spec = spec_for(ctx.target, str(site), units, refine=False)
    store = open_store(tmp_path, path=tmp_path / "memory")
    with FakeLLM(responder=labeler) as fake:
        dead = fake.base_url
    def make(llm):
        return LabelRun(spec=spec, out=tmp_path / "out", ctx=ctx, site=site, items=items_for(site, units), llm=llm,
                        store=store, embed=None, concurrency=1)
    with pytest.raises(LLMUnreachable):
        make(LLMClient(LLMConfig(base_url=dead, model="fake-model", max_retries=0))).run()
    assert not list((tmp_path / "out" / "items").glob("*.json"))  # nothing recorded as failed by the outage
    with FakeLLM(responder=labeler) as fake:
        totals = make(_client(fake)).run()
    assert totals["done"] == 2 and totals["failed"] == 0


def _pieces(text: str) -> set[str]:
    return {w.lower() for w in text.split()}


def test_intervention_steers_a_latent_on_held_out_prompts_and_reads_the_words(smollm_sae, sleuth_home, ctx):
    from sleuth.label.intervene import steer

    sae_ctx = ToolContext(target=smollm_sae, home=sleuth_home)
    site, _ = whole_site(smollm_sae, "blocks.6.hook_resid_post@smollm2-res-6")
    preset = PRESETS["sleuth"].model_copy(update={"scorers": ["detection", "intervention"], "induce": False})
    spec = spec_for(smollm_sae, str(site), [0, 1, 2, 3], preset=preset, refine=False)
    found = collect(sae_ctx, spec, site, items_for(site, [0, 1, 2, 3]))

    def gained(sample, piece):
        return sample.steered.lower().count(piece) > sample.baseline.lower().count(piece)

    def brings(sample) -> list[str]:  # words the push brings into a continuation ("`__init" is read as "init")
        new = {re.sub(r"[^a-z0-9]", "", p) for p in _pieces(sample.steered) - _pieces(sample.baseline)}
        return sorted(c for c in new if len(c) >= 2 and gained(sample, c))

    # the latent whose push brings words into the most continuations (which prompts the validation split
    # gives decides how many each latent changes)
    steered = [(c, steer(c, spec, sae_ctx)) for c in found.values() if not isinstance(c, str)]
    collected, samples = max(steered, key=lambda cs: sum(bool(brings(s)) for s in cs[1]))
    quiet = [w.window for w in collected.test if w.kind == "random"][: preset.steer_prompts]
    windows = sae_ctx.windows
    assert len(samples) == len(quiet) and all(windows.heldout[w] for w in quiet)  # prompts: held-out documents only
    assert [s.prompt for s in samples] == [smollm_sae.tokenizer.decode(windows.tokens[w][:12].tolist()) for w in quiet]
    assert sum(s.changed for s in samples) >= 2
    # a label naming words the push brings in scores above one naming an absent word, which is at chance
    # (the judge picks the continuation with more of the label's quoted words, A on a tie)
    brought = [max(brings(s), key=len) for s in samples if brings(s)]  # one word per continuation the push changed
    assert len(brought) >= 2
    quoted = ", ".join(f"'{w}'" for w in dict.fromkeys(brought))
    with FakeLLM(responder=_label({"label": f"Pushes the text toward {quoted}.", "rule": {"token_in": brought}})) as fake:
        right = label_item(collected, spec, _client(fake), None, sae_ctx, None)
    with FakeLLM(responder=_label({"label": "Pushes toward 'zebrafish'.", "rule": {"token_in": ["zebrafish"]}})) as fake:
        wrong = label_item(collected, spec, _client(fake), None, sae_ctx, None)
    r, w = right.score("intervention"), wrong.score("intervention")
    assert r["status"] == w["status"] == "scored", (r, w)
    assert r["value"] > w["value"] and w["value"] < 0.7 and not w["passed"], (quoted, r, w)
    assert wrong.status == "rejected" and f"intervention {w['value']:.2f} < 0.7" in wrong.reason
    assert len(r["details"]["pairs"]) == r["n"] == r["details"]["changed"]


def test_intervention_does_not_apply_to_a_synthetic_unit(planted, ctx):
    spec, collected = planted
    spec = spec.model_copy(update={"preset": spec.preset.model_copy(update={"scorers": ["rule", "detection", "intervention"]})})
    with FakeLLM(responder=labeler) as fake:
        record = label_item(collected, spec, _client(fake), None, ctx, None)
    states = {s["scorer"]: s for s in record.scores}
    assert states["intervention"]["status"] == "not_applicable"
    assert "not synthetic units" in states["intervention"]["reason"]
    assert record.status == "validated", record.reason  # the others decide
