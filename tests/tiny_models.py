"""Tiny random audio encoders of every family we support, saved to folders (no hub, no network).

Each builder writes config.json + model.safetensors + the preprocessor (and for CLAP a tokenizer,
trained here on a few sentences because none can be downloaded). Shapes are the real architectures'
shrunk to hidden 32 and 2-3 layers, so loading takes milliseconds and outputs are deterministic.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.tiny_model import build_tiny_model

HIDDEN = 32
LAYERS = 3
_CONV = dict(conv_dim=(16,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2)


def _quiet():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    import transformers

    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    return transformers


def build_family(family: str, folder: str | os.PathLike, seed: int = 0) -> Path:
    """Write a tiny random model of `family` (wav2vec2, hubert, wavlm, data2vec-audio, ast, clap) to `folder`."""
    if family == "wav2vec2":
        return build_tiny_model(folder, seed=seed)
    tr = _quiet()
    import torch

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    small = dict(hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=2, intermediate_size=64)
    if family in ("hubert", "wavlm", "data2vec-audio"):
        cfg_cls, model_cls = {"hubert": (tr.HubertConfig, tr.HubertModel), "wavlm": (tr.WavLMConfig, tr.WavLMModel),
                              "data2vec-audio": (tr.Data2VecAudioConfig, tr.Data2VecAudioModel)}[family]
        extra = dict(_CONV)
        if family == "data2vec-audio":
            extra = dict(conv_dim=(16,) * 7, num_conv_pos_embeddings=4, conv_pos_kernel_size=3)
        if family == "wavlm":
            extra.update(num_buckets=16, max_bucket_distance=64)
        model_cls(cfg_cls(**small, **extra)).save_pretrained(folder)
        tr.Wav2Vec2FeatureExtractor(sampling_rate=16000, do_normalize=True,
                                    return_attention_mask=True).save_pretrained(folder)
    elif family == "ast":
        tr.ASTModel(tr.ASTConfig(**small, max_length=1024)).save_pretrained(folder)
        tr.ASTFeatureExtractor().save_pretrained(folder)
    elif family == "clap":
        _build_clap(tr, folder, small)
    else:
        raise ValueError(f"unknown family {family!r}")
    return folder


def _build_clap(tr, folder: Path, small: dict, audio_config=None) -> None:
    """A CLAP with a trained-here tokenizer; `audio_config` (bench: the default HTSAT) or a tiny one."""
    from tokenizers import ByteLevelBPETokenizer

    tok_dir = folder / "_tok"
    tok_dir.mkdir(parents=True, exist_ok=True)
    bpe = ByteLevelBPETokenizer()
    text = ["slow piano with rain", "fast drums and bass", "a quiet guitar", "loud synth pads at night",
            "string quartet", "birds singing in the morning", "electronic dance music"] * 20
    bpe.train_from_iterator(text, vocab_size=300, min_frequency=1,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    bpe.save_model(str(tok_dir))
    tok = tr.RobertaTokenizerFast(vocab_file=str(tok_dir / "vocab.json"), merges_file=str(tok_dir / "merges.txt"))
    text_cfg = tr.ClapTextConfig(vocab_size=tok.vocab_size + 5, hidden_size=HIDDEN, num_hidden_layers=2,
                                 num_attention_heads=2, intermediate_size=64, max_position_embeddings=64,
                                 projection_dim=24)
    audio_cfg = tr.ClapAudioConfig(hidden_size=HIDDEN, depths=[1, 1], num_attention_heads=[2, 2],
                                   patch_embeds_hidden_size=16,
                                   enable_fusion=False, projection_dim=24, spec_size=256, window_size=8,
                                   num_mel_bins=64)
    audio_cfg = audio_config or audio_cfg
    cfg = tr.ClapConfig(text_config=text_cfg.to_dict(), audio_config=audio_cfg.to_dict(), projection_dim=24)
    tr.ClapModel(cfg).save_pretrained(folder)
    fe = tr.ClapFeatureExtractor(truncation="rand_trunc", feature_size=64)
    tr.ClapProcessor(feature_extractor=fe, tokenizer=tok).save_pretrained(folder)
    for p in tok_dir.iterdir():
        p.unlink()
    tok_dir.rmdir()
