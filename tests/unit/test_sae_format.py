"""SAE-Lens format: files written by sae-lens load here with the same numbers, and back again."""

import json

import pytest
import torch

from sleuth.errors import SleuthError
from sleuth.sae.dictionary import SaeConfig, SaeError, SparseDictionary
from sleuth.sae.format import CFG_FILE, WEIGHTS_FILE, load_dictionary, save_dictionary
from sleuth.sae.registry import SaeRegistry, known_saes

sae_lens = pytest.importorskip("sae_lens")

D_IN, D_SAE = 12, 40


def _randomise(module, seed=0):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * (0.05 if name in ("threshold", "r_mag") else 0.5))
            if name == "threshold":
                p.abs_()


def _sae_lens_dictionary(arch: str):
    meta = {"hook_name": "blocks.1.hook_resid_post", "model_name": "tiny", "neuronpedia_id": "tiny/1-res/77"}
    if arch == "transcoder":
        cfg = sae_lens.TranscoderConfig(d_in=D_IN, d_sae=D_SAE, d_out=D_IN, apply_b_dec_to_input=False)
        model = sae_lens.Transcoder(cfg)
    else:
        cls = {"standard": sae_lens.StandardSAEConfig, "topk": sae_lens.TopKSAEConfig,
               "jumprelu": sae_lens.JumpReLUSAEConfig, "gated": sae_lens.GatedSAEConfig}[arch]
        extra = {"k": 5} if arch == "topk" else {}
        model = sae_lens.SAE.from_dict(cls(d_in=D_IN, d_sae=D_SAE, **extra).to_dict())
    for key, value in meta.items():
        setattr(model.cfg.metadata, key, value)
    _randomise(model)
    return model


@pytest.mark.parametrize("arch", ["standard", "topk", "jumprelu", "gated", "transcoder"])
def test_sae_lens_files_load_with_identical_numbers(tmp_path, arch):
    theirs = _sae_lens_dictionary(arch)
    theirs.save_model(str(tmp_path))
    ours = load_dictionary(tmp_path)
    x = torch.randn(7, 3, D_IN, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(ours.encode(x), theirs.encode(x))
        torch.testing.assert_close(ours.decode(ours.encode(x)), theirs.decode(theirs.encode(x)))
    assert ours.cfg.architecture == arch
    assert ours.cfg.neuronpedia_id == "tiny/1-res/77" and ours.cfg.hook_name == "blocks.1.hook_resid_post"
    if arch == "topk":
        assert int((ours.encode(x) != 0).sum(-1).max()) <= 5


@pytest.mark.parametrize("arch", ["standard", "topk", "jumprelu", "gated", "transcoder"])
def test_what_sleuth_writes_loads_in_sae_lens(tmp_path, arch):
    cfg = SaeConfig(architecture=arch, d_in=D_IN, d_sae=D_SAE, k=4 if arch == "topk" else None,
                    d_out=D_IN if arch == "transcoder" else None, apply_b_dec_to_input=arch != "transcoder",
                    metadata={"hook_name": "blocks.2.hook_resid_post", "neuronpedia_id": "np/2/3"})
    ours = SparseDictionary(cfg)
    _randomise(ours, seed=3)
    save_dictionary(ours, tmp_path / "sae")
    if arch == "transcoder":
        theirs = sae_lens.Transcoder.load_from_disk(str(tmp_path / "sae"))
    else:
        theirs = sae_lens.SAE.load_from_disk(str(tmp_path / "sae"))
    x = torch.randn(5, D_IN, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        torch.testing.assert_close(theirs.encode(x), ours.encode(x))
        torch.testing.assert_close(theirs.decode(theirs.encode(x)), ours(x))
    assert theirs.cfg.metadata.neuronpedia_id == "np/2/3"
    again = load_dictionary(tmp_path / "sae")  # and a sleuth round trip is exact
    for name, p in ours.named_parameters():
        assert torch.equal(p, getattr(again, name))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no staging folders are left behind"


def test_older_flat_sae_lens_config_reads(tmp_path):
    ours = SparseDictionary(SaeConfig(architecture="topk", d_in=D_IN, d_sae=D_SAE, k=3))
    save_dictionary(ours, tmp_path)
    flat = {"d_in": D_IN, "d_sae": D_SAE, "activation_fn_str": "topk", "activation_fn_kwargs": {"k": 3},
            "hook_name": "blocks.0.hook_resid_pre", "model_name": "gpt2", "neuronpedia_id": "gpt2-small/0-res-jb",
            "apply_b_dec_to_input": True, "normalize_activations": "none", "dtype": "float32", "device": "cpu"}
    (tmp_path / CFG_FILE).write_text(json.dumps(flat))
    loaded = load_dictionary(tmp_path)
    assert loaded.cfg.architecture == "topk" and loaded.cfg.k == 3
    assert loaded.cfg.metadata["neuronpedia_id"] == "gpt2-small/0-res-jb"


def _write(tmp_path, cfg_text=None, weights=None):
    sae = SparseDictionary(SaeConfig(architecture="standard", d_in=D_IN, d_sae=D_SAE))
    save_dictionary(sae, tmp_path)
    if cfg_text is not None:
        (tmp_path / CFG_FILE).write_text(cfg_text)
    if weights is not None:
        (tmp_path / WEIGHTS_FILE).write_bytes(weights)
    return tmp_path


@pytest.mark.parametrize("case, cfg_text, weights, message", [
    ("unknown arch", json.dumps({"d_in": 4, "d_sae": 8, "architecture": "gated-magic"}), None, "unknown SAE architecture"),
    ("corrupt cfg", "{not json", None, "corrupt"),
    ("corrupt weights", None, b"\x00\x01garbage" * 10, "corrupt weights file"),
    ("shape mismatch", json.dumps({"d_in": D_IN + 1, "d_sae": D_SAE, "architecture": "standard"}), None, "has shape"),
    ("topk without k", json.dumps({"d_in": D_IN, "d_sae": D_SAE, "architecture": "topk"}), None, "needs k"),
    ("odd normalisation", json.dumps({"d_in": D_IN, "d_sae": D_SAE, "architecture": "standard",
                                      "normalize_activations": "layer_norm"}), None, "not supported"),
])
def test_bad_sae_files_give_one_line_errors(tmp_path, case, cfg_text, weights, message):
    path = _write(tmp_path, cfg_text, weights)
    with pytest.raises(SaeError) as err:
        load_dictionary(path)
    assert message in str(err.value) and "\n" not in str(err.value)
    assert isinstance(err.value, SleuthError)


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(SaeError, match="no SAE at"):
        load_dictionary(tmp_path / "nowhere")


def test_saving_over_an_sae_replaces_it_whole(tmp_path):
    first = SparseDictionary(SaeConfig(architecture="standard", d_in=D_IN, d_sae=D_SAE))
    save_dictionary(first, tmp_path / "x")
    second = SparseDictionary(SaeConfig(architecture="standard", d_in=D_IN, d_sae=D_SAE * 2))
    _randomise(second)
    save_dictionary(second, tmp_path / "x")
    assert load_dictionary(tmp_path / "x").d_sae == D_SAE * 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x"]


def test_packaged_registry_parses_and_names_a_default():
    registry = known_saes()
    default = registry.default_for("smollm2-135m")
    assert default is not None and default.site == "blocks.6.hook_resid_post" and default.train.seed == 0
    assert {e.architecture for e in registry.entries.values()} >= {"topk", "transcoder"}
    assert any(e.site.endswith("attn.hook_z") for e in registry.entries.values())


def test_registering_a_name_twice_raises():
    entry = {"name": "a", "model": "m", "site": "blocks.0.hook_resid_post", "architecture": "topk", "path": "/x"}
    with pytest.raises(SaeError, match="already registered"):
        SaeRegistry.from_yaml(json.dumps([entry, entry]))


@pytest.mark.parametrize("entry, message", [
    ({"name": "a", "model": "m", "site": "blocks.0.hook_resid_post", "architecture": "weird", "path": "/x"}, "architecture"),
    ({"name": "a", "model": "m", "site": "blocks.0.hook_resid_post", "architecture": "topk"}, "exactly one of path or repo"),
    ({"name": "a", "model": "m", "site": "nowhere", "architecture": "topk", "path": "/x"}, "unknown hook"),
])
def test_malformed_registry_entries_are_refused(entry, message):
    with pytest.raises(SaeError, match=message):
        SaeRegistry.from_yaml(json.dumps([entry]))


def test_architectures_are_registered_classes_one_per_file():
    from pathlib import Path

    from sleuth.sae import architectures
    from sleuth.sae.architectures import architecture_names, get_architecture, register

    files = {p.stem for p in Path(architectures.__file__).parent.glob("*.py")} - {"__init__", "base"}
    assert set(architecture_names()) == files >= {"standard", "topk", "jumprelu", "gated", "transcoder"}
    with pytest.raises(ValueError, match="registered twice"):
        register(type(get_architecture("gated")))
    with pytest.raises(SaeError, match="unknown SAE architecture 'matryoshka'; sleuth knows gated, jumprelu"):
        SaeConfig(architecture="matryoshka", d_in=4, d_sae=8)
    assert get_architecture("topk").default_lr == 4e-3 and get_architecture("jumprelu").sparsity_penalty == "L0"
