"""SAEs on the real SmolLM2: latent sites in every tool, training with resume, evaluation, lookups."""

import pytest
import torch

from sleuth.errors import SleuthError
from sleuth.sae.binding import attach
from sleuth.sae.dictionary import SaeConfig, SaeError, SparseDictionary
from sleuth.sae.evaluate import evaluate_dictionary, random_baseline
from sleuth.sae.format import load_dictionary
from sleuth.sae.library import corpus_rows
from sleuth.sae.train import TrainSpec, train_dictionary
from sleuth.target import Edit, Site
from sleuth.tools import ToolContext, ToolError, run_tool

SAE = "smollm2-res-6"
BASE = Site.parse("blocks.6.hook_resid_post")
LATENTS = Site.parse(f"blocks.6.hook_resid_post@{SAE}")
TEXT = "The quick brown fox jumps over the lazy dog because it was late for dinner."


@pytest.fixture(scope="module")
def ctx(smollm_sae, sleuth_home):
    return ToolContext(target=smollm_sae, home=sleuth_home)


def _active_and_inactive(target):
    latents = target.run([TEXT], reads=[LATENTS])[LATENTS][0]  # [pos, d_sae]
    active = int(latents[1:].amax(0).argmax())
    inactive = int((latents.amax(0) == 0).nonzero()[0])
    return active, inactive, latents


def test_latent_sites_read_exactly_what_the_sae_encodes(smollm_sae):
    out = smollm_sae.run([TEXT], reads=[BASE, LATENTS, LATENTS.with_index(5)])
    direct = smollm_sae.saes[SAE].encode(out[BASE])
    assert torch.equal(out[LATENTS], direct)
    assert torch.equal(out[LATENTS.with_index(5)], direct[..., 5])
    assert int((direct[0, 1:] > 0).sum(-1).max()) <= 32


def test_latent_edits_move_the_site_along_the_decoder_row_only(smollm_sae):
    sae = smollm_sae.saes[SAE]
    active, inactive, latents = _active_and_inactive(smollm_sae)
    clean = smollm_sae.run([TEXT], reads=[BASE])
    same = smollm_sae.run([TEXT], reads=[BASE], edits=[Edit(site=LATENTS.with_index(inactive), op="zero")])
    torch.testing.assert_close(same.logits, clean.logits)
    edited = smollm_sae.run([TEXT], reads=[BASE], edits=[Edit(site=LATENTS.with_index(active), op="zero")])
    expected = clean[BASE] - latents[..., active, None].unsqueeze(0) * sae.decoder_rows()[active]
    torch.testing.assert_close(edited[BASE], expected, atol=1e-4, rtol=1e-4)
    assert not torch.allclose(edited.logits, clean.logits)


def test_ablate_patch_and_steer_take_latents(ctx):
    active, _, _ = _active_and_inactive(ctx.target)
    latent = str(LATENTS.with_index(active))
    ablated = run_tool("ablate", {"components": [latent], "texts": [TEXT]}, ctx).data
    assert ablated["mean_loss_delta"] != 0.0
    clean = ["When Mary and John went to the store, John gave a drink to"]
    corrupt = ["When Mary and John went to the store, Mary gave a drink to"]
    patched = run_tool("patch", {"clean": clean, "corrupt": corrupt, "answers": [" Mary"], "foils": [" John"],
                                 "sweep": "sites", "sites": [str(LATENTS), latent]}, ctx).data
    assert len(patched["scores"]) == 2 and all(abs(s) < 5 for s in patched["scores"])
    steered = run_tool("steer", {"site": latent, "prompt": "I went to the", "coefficient": 60.0,
                                 "max_new_tokens": 6}, ctx).data
    assert "decoder row" in steered["direction_source"] and steered["steered"] != steered["baseline"]


def test_patching_every_latent_of_the_sae_recovers_what_its_reconstruction_carries(ctx):
    clean = ["When Mary and John went to the store, John gave a drink to"]
    corrupt = ["When Mary and John went to the store, Mary gave a drink to"]
    whole = run_tool("patch", {"clean": clean, "corrupt": corrupt, "answers": [" Mary"], "foils": [" John"],
                               "sweep": "sites", "sites": [str(BASE), str(LATENTS)]}, ctx).data
    site_score, latent_score = whole["scores"]
    assert site_score == pytest.approx(1.0, abs=1e-3)
    assert 0.3 < latent_score <= 1.2, "the SAE's latents carry most of what the whole site carries"


def test_top_activations_scans_latents_and_caches(ctx):
    args = {"sites": [str(LATENTS)], "n_windows": 32, "k": 2, "units_per_site": 3}
    first = run_tool("top_activations", args, ctx).data
    assert len(first["components"]) == 3
    for report in first["components"]:
        assert Site.parse(report["component"]).sae == SAE and 0 < report["frequency"] <= 1
    assert run_tool("top_activations", args, ctx).data == first


def test_default_sae_beats_a_random_dictionary_of_the_same_width_and_l0(smollm_sae, sleuth_home):
    rows, _ = corpus_rows(smollm_sae, sleuth_home, split="heldout")
    sae = smollm_sae.saes[SAE]
    trained = evaluate_dictionary(smollm_sae, sae, BASE, rows[:12], name=SAE)
    random = evaluate_dictionary(smollm_sae, random_baseline(sae), BASE, rows[:12], name="random")
    assert trained.l0 == pytest.approx(32, abs=0.5) and random.l0 == pytest.approx(32, abs=0.5)
    assert trained.fvu < 0.5 < random.fvu
    assert trained.ce_loss_recovered > 0.5 and trained.ce_loss_recovered > random.ce_loss_recovered + 0.2
    assert trained.ce_clean < trained.ce_spliced < trained.ce_zero_ablation
    assert 0 <= trained.dead_fraction < 0.5
    assert sum(trained.density.counts) + trained.density.never_fired == sae.d_sae


def test_feature_attribution_sign_agrees_with_ablating_the_latent(ctx):
    texts = ["When Mary and John went to the store, John gave a drink to"]
    result = run_tool("sae_feature_attribution", {"sae": SAE, "texts": texts, "token": " Mary", "top_k": 3}, ctx).data
    top = result["latents"][0]
    target = ctx.target
    mary = target.token_id(" Mary")
    clean = target.run(texts).logits[0, -1, mary]
    ablated = target.run(texts, edits=[Edit(site=Site.parse(top["site"]), op="zero")]).logits[0, -1, mary]
    assert top["activation"] > 0
    assert (clean - ablated) * top["attribution"] > 0, "gradient x activation predicts the sign of the ablation"


def test_latent_logits_reads_the_decoder_row_through_the_unembedding(ctx):
    sae = ctx.target.saes[SAE]
    data = run_tool("sae_latent_logits", {"sae": SAE, "latent": 3, "top_k": 5}, ctx).data
    logits = sae.decoder_rows()[3] @ ctx.target.adapter.W_U().float()
    assert data["promoted"][0]["logit"] == pytest.approx(float(logits.max()), abs=1e-4)
    assert data["suppressed"][0]["logit"] == pytest.approx(float(logits.min()), abs=1e-4)
    with pytest.raises(ToolError, match="out of range"):
        run_tool("sae_latent_logits", {"sae": SAE, "latent": sae.d_sae}, ctx)
    with pytest.raises(ToolError, match="no SAE named"):
        run_tool("sae_encode", {"sae": "nope", "texts": ["x"]}, ctx)


def test_unloaded_or_mismatched_saes_are_refused(smollm_sae):
    with pytest.raises(SleuthError, match="no SAE named 'other'"):
        smollm_sae.check_site("blocks.6.hook_resid_post@other[3]")
    with pytest.raises(SleuthError, match="reads blocks.6.hook_resid_post"):
        smollm_sae.check_site(f"blocks.5.hook_resid_post@{SAE}[3]")
    with pytest.raises(SleuthError, match="latent 99999 out of range"):
        smollm_sae.check_site(f"blocks.6.hook_resid_post@{SAE}[99999]")
    narrow = SparseDictionary(SaeConfig(architecture="standard", d_in=100, d_sae=8,
                                        metadata={"hook_name": "blocks.6.hook_resid_post"}))
    with pytest.raises(SaeError, match="d_in 100"):
        attach(smollm_sae, "narrow", narrow)
    far = SparseDictionary(SaeConfig(architecture="standard", d_in=576, d_sae=8,
                                     metadata={"hook_name": "blocks.99.hook_resid_post"}))
    with pytest.raises(SleuthError, match="layer 99 out of range"):
        attach(smollm_sae, "far", far)
    assert set(smollm_sae.saes) == {SAE}


class _Crash(Exception):
    pass


def test_training_resumes_after_a_crash_to_the_same_weights(smollm, sleuth_home, tmp_path):
    rows, _ = corpus_rows(smollm, sleuth_home)
    spec = TrainSpec(site="blocks.1.hook_resid_post", arch="topk", width=64, k=4, tokens=4096, batch=512,
                     checkpoint_every=2, lr=4e-3)
    whole = train_dictionary(smollm, rows[:200], spec, tmp_path / "whole")

    def crash_at_step_4(progress):
        if progress.tokens == 4 * 512:
            raise _Crash
    with pytest.raises(_Crash):
        train_dictionary(smollm, rows[:200], spec, tmp_path / "resumed", on_progress=crash_at_step_4)
    assert not (tmp_path / "resumed").exists() and (tmp_path / "resumed.train" / "state").is_dir()
    with pytest.raises(SaeError, match="other settings"):
        train_dictionary(smollm, rows[:200], spec.model_copy(update={"width": 32}), tmp_path / "resumed", resume=True)
    resumed = train_dictionary(smollm, rows[:200], spec, tmp_path / "resumed", resume=True)
    for name, p in whole.named_parameters():
        torch.testing.assert_close(getattr(resumed, name), p)
    record = (tmp_path / "resumed" / "sleuth_training.json").read_text()
    assert '"resumed_from": 2048' in record and not (tmp_path / "resumed.train").exists()
    with pytest.raises(SaeError, match="already holds an SAE"):
        train_dictionary(smollm, rows[:200], spec, tmp_path / "whole")


def test_training_never_overwrites_a_foreign_folder_and_survives_kills_around_checkpoints(smollm, sleuth_home, tmp_path):
    import os
    import shutil

    from sleuth.sae.train import COMPLETE

    rows, _ = corpus_rows(smollm, sleuth_home)
    spec = TrainSpec(site="blocks.1.hook_resid_post", arch="topk", width=64, k=4, tokens=4096, batch=512,
                     checkpoint_every=2, lr=4e-3)
    foreign = tmp_path / "project"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(SaeError, match="not an SAE folder"):
        train_dictionary(smollm, rows[:200], spec, foreign)
    assert (foreign / "notes.txt").read_text() == "keep me" and len(list(foreign.iterdir())) == 1
    whole = train_dictionary(smollm, rows[:200], spec, tmp_path / "whole")
    # a kill before the first checkpoint: spec.json without state/ (every later --resume used to fail)
    early = tmp_path / "early"
    (tmp_path / "early.train").mkdir()
    (tmp_path / "early.train" / "spec.json").write_text(spec.resolved().model_dump_json())
    restarted = train_dictionary(smollm, rows[:200], spec, early, resume=True)
    for name, p in whole.named_parameters():
        torch.testing.assert_close(getattr(restarted, name), p)
    # --resume on a finished SAE: refused, nothing changed
    weights = (early / "sae_weights.safetensors").read_bytes()
    with pytest.raises(SaeError, match="nothing to resume"):
        train_dictionary(smollm, rows[:200], spec, early, resume=True)
    assert (early / "sae_weights.safetensors").read_bytes() == weights
    # a kill between the two renames of a checkpoint: state moved aside, the whole staged one not yet in place
    def crash_at_step_4(progress):
        if progress.tokens == 4 * 512:
            raise _Crash
    torn = tmp_path / "torn"
    with pytest.raises(_Crash):
        train_dictionary(smollm, rows[:200], spec, torn, on_progress=crash_at_step_4)
    state = tmp_path / "torn.train" / "state"
    shutil.copytree(state, state.with_name("state.staging"))
    (state.with_name("state.staging") / COMPLETE).write_text("")
    os.replace(state, state.with_name("state.old"))
    resumed = train_dictionary(smollm, rows[:200], spec, torn, resume=True)
    for name, p in whole.named_parameters():
        torch.testing.assert_close(getattr(resumed, name), p)
    assert not list(tmp_path.glob("torn.train*"))


def test_transcoder_and_hook_z_saes_train_load_and_look_up(sleuth_home, tmp_path):
    from sleuth.sae.library import load_sae
    from sleuth.target import load_target

    target = load_target("smollm2-135m", sleuth_home)
    rows, _ = corpus_rows(target, sleuth_home)
    for name, site, arch in (("tc-1", "blocks.1.ln2.hook_normalized", "transcoder"),
                             ("z-1", "blocks.1.attn.hook_z", "topk")):
        spec = TrainSpec(site=site, arch=arch, width=64, k=4, tokens=2048, batch=512, sparsity=1.0)
        train_dictionary(target, rows[:100], spec, tmp_path / name)
        load_sae(str(tmp_path / name), target, sleuth_home)
    assert load_dictionary(tmp_path / "tc-1").cfg.hook_name_out == "blocks.1.mlp.hook_mlp_out"
    ctx = ToolContext(target=target, home=sleuth_home)
    encoded = run_tool("sae_encode", {"sae": "tc-1", "texts": [TEXT]}, ctx).data
    assert encoded["site"] == "blocks.1.ln2.hook_normalized" and encoded["top_latents"]
    shares = run_tool("sae_latent_logits", {"sae": "z-1", "latent": 0}, ctx).data["head_shares"]
    assert len(shares) == target.shape.n_heads and sum(h["share"] for h in shares) == pytest.approx(1, abs=1e-3)
    rows_h, _ = corpus_rows(target, sleuth_home, split="heldout")
    tc = evaluate_dictionary(target, target.saes["tc-1"], target.sae_sites["tc-1"], rows_h[:4])
    assert tc.architecture == "transcoder" and tc.fvu > 0 and tc.tokens == 4 * 63
    with pytest.raises(SleuthError, match="transcoder latents are read-only"):
        target.run([TEXT], edits=[Edit(site=Site.parse("blocks.1.ln2.hook_normalized@tc-1[0]"), op="zero")])
    attribution = run_tool("sae_feature_attribution", {"sae": "tc-1", "texts": [TEXT], "token": " the"}, ctx).data
    assert attribution["latents"]


@pytest.mark.parametrize("arch", ["standard", "jumprelu", "gated"])
def test_relu_jumprelu_and_gated_saes_train_through_sae_lens(smollm, sleuth_home, tmp_path, arch):
    rows, _ = corpus_rows(smollm, sleuth_home)
    spec = TrainSpec(site="blocks.1.hook_resid_post", arch=arch, width=64, tokens=4096, batch=512, lr=4e-3)
    sae = train_dictionary(smollm, rows[:100], spec, tmp_path / arch)
    loaded = load_dictionary(tmp_path / arch)
    assert loaded.cfg.architecture == arch and loaded.d_sae == 64
    x = torch.randn(4, 576)
    torch.testing.assert_close(loaded.encode(x), sae.encode(x))
    if arch == "jumprelu":
        assert float(loaded.threshold.abs().sum()) > 0
    if arch == "gated":  # the gate and the magnitude path were both trained
        assert float(loaded.r_mag.abs().sum()) > 0 and float(loaded.b_gate.abs().sum()) > 0
