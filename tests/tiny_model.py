"""A tiny random Wav2Vec2 model + feature extractor saved to a folder, for tests (no hub, no network).

Same architecture and conv strides as wav2vec2-base (50 frames/s), shrunk to hidden 32 and a few
layers: the folder is ~150 KB, loads in milliseconds and gives identical outputs on every reload.
The lead's conftest exposes it as a session fixture; tests/core/test_wav2vec2.py also uses it directly.
"""

from __future__ import annotations

import os
from pathlib import Path

TINY_HIDDEN = 32
TINY_LAYERS = 3


def build_tiny_model(folder: str | os.PathLike, num_hidden_layers: int = TINY_LAYERS, seed: int = 0,
                     stable_layer_norm: bool = False) -> Path:
    """Write config.json + model.safetensors + preprocessor_config.json into `folder`; return it.

    `stable_layer_norm=True` builds the "large-lv60" variant (pre-norm layers, layer-norm feature
    encoder, attention mask expected), which the embedder must handle too.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cfg = Wav2Vec2Config(
        hidden_size=TINY_HIDDEN, num_hidden_layers=num_hidden_layers, num_attention_heads=2,
        intermediate_size=64, conv_dim=(16,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2,
        do_stable_layer_norm=stable_layer_norm, feat_extract_norm="layer" if stable_layer_norm else "group",
    )
    torch.manual_seed(seed)
    Wav2Vec2Model(cfg).save_pretrained(folder)
    Wav2Vec2FeatureExtractor(sampling_rate=16000, do_normalize=True,
                             return_attention_mask=stable_layer_norm).save_pretrained(folder)
    return folder
