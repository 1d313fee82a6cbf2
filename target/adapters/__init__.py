"""Architecture adapters, looked up by the HF config's model_type."""

from sleuth.errors import ModelLoadError
from sleuth.target.adapters.base import Adapter, HookPoint
from sleuth.target.adapters.gpt2 import GPT2Adapter
from sleuth.target.adapters.llama import Gemma3Adapter, LlamaAdapter, Qwen2Adapter
from sleuth.target.adapters.neox import NeoXAdapter

ADAPTERS: dict[str, type[Adapter]] = {
    cls.arch: cls for cls in (LlamaAdapter, Qwen2Adapter, Gemma3Adapter, GPT2Adapter, NeoXAdapter)
}
ADAPTERS["gemma3_text"] = Gemma3Adapter


def adapter_for(model) -> Adapter:
    model_type = model.config.model_type
    if model_type not in ADAPTERS:
        known = ", ".join(sorted(ADAPTERS))
        raise ModelLoadError(f"no sleuth adapter for architecture '{model_type}'; supported: {known}")
    return ADAPTERS[model_type](model)


__all__ = ["ADAPTERS", "Adapter", "HookPoint", "adapter_for"]
