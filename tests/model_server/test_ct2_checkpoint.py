from __future__ import annotations

from pathlib import Path
from typing import Any

import ctranslate2
import numpy as np
import pytest

from model_server.bundled import whisper_tiny_en_dir
from model_server.ct2_checkpoint import (
    Ct2Model,
    main,
    read_model_bin,
    whisper_dims,
    whisper_state_dict,
)
from tests.tools import require_module

TINY_EN = {
    "n_mels": 80,
    "n_audio_ctx": 1500,
    "n_audio_state": 384,
    "n_audio_head": 6,
    "n_audio_layer": 4,
    "n_vocab": 51864,
    "n_text_ctx": 448,
    "n_text_state": 384,
    "n_text_head": 6,
    "n_text_layer": 4,
}
SOT, NO_TIMESTAMPS = 50257, 50362  # tiny.en's <|startoftranscript|> and <|notimestamps|>
# Measured on this input (ctranslate2 4.8.5 and torch 2.13.0 on CPU, both in float32 from the same
# float16 weights): encoder outputs differ by at most 3e-4 (values up to ~13), decoder logits by
# 4e-5 (up to ~20); the rest is summation order, which differs between CPUs. Swapping one
# layer's query and key moves the encoder output by ~16, so the bound catches a wrong split, a
# missed scale or a transposed weight by three orders of magnitude.
TOLERANCE = 1e-2


@pytest.fixture(scope="session")
def ct2_model() -> Ct2Model:
    return read_model_bin(whisper_tiny_en_dir() / "model.bin")


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_module("torch", "the converter saves the checkpoint with torch")
    output = tmp_path_factory.mktemp("whisper") / "tiny.en.pt"
    assert main([str(whisper_tiny_en_dir()), str(output)]) == 0
    return output


@pytest.fixture(scope="session")
def whisper_model(checkpoint: Path) -> Any:
    whisper = require_module("whisper", "the converted checkpoint is loaded into openai-whisper")
    return whisper.load_model(str(checkpoint), device="cpu")


@pytest.fixture(scope="session")
def mel() -> Any:
    """A fixed 30 s log-mel input: a chirp under noise, so every mel band carries signal."""
    whisper = require_module("whisper", "openai-whisper computes the log-mel input")
    rng = np.random.default_rng(4)
    t = np.arange(30 * 16_000, dtype=np.float64) / 16_000
    chirp = 0.3 * np.sin(2 * np.pi * (100 + 120 * t) * t)
    audio = (chirp + 0.05 * rng.standard_normal(t.size)).astype(np.float32)
    return whisper.log_mel_spectrogram(audio).unsqueeze(0)


@pytest.fixture(scope="session")
def ct2_reference() -> Any:
    return ctranslate2.models.Whisper(
        str(whisper_tiny_en_dir()), device="cpu", compute_type="float32"
    )


def test_it_reads_the_dimensions_of_tiny_en(ct2_model: Ct2Model) -> None:
    assert ct2_model.spec == "WhisperSpec"
    assert whisper_dims(ct2_model, whisper_tiny_en_dir()) == TINY_EN


def test_it_splits_the_fused_projections(ct2_model: Ct2Model) -> None:
    state = whisper_state_dict(ct2_model, TINY_EN)
    fused = ct2_model.variables["encoder/layer_2/self_attention/linear_0/weight"]
    assert fused.shape == (3 * 384, 384)
    for index, part in enumerate(("query", "key", "value")):
        split = state[f"encoder.blocks.2.attn.{part}.weight"]
        assert np.array_equal(split, fused[index * 384 : (index + 1) * 384])
    cross_kv = ct2_model.variables["decoder/layer_1/attention/linear_1/weight"]
    assert np.array_equal(state["decoder.blocks.1.cross_attn.value.weight"], cross_kv[384:])
    assert "decoder.blocks.1.cross_attn.key.bias" not in state
    assert state["decoder.blocks.1.cross_attn.query.bias"].shape == (384,)


def test_it_refuses_a_key_bias_that_is_not_zero(ct2_model: Ct2Model) -> None:
    variables = dict(ct2_model.variables)
    bias = variables["decoder/layer_0/self_attention/linear_0/bias"].copy()
    bias[384] = 0.5  # the first element of the key's share of q|k|v
    variables["decoder/layer_0/self_attention/linear_0/bias"] = bias
    altered = Ct2Model(ct2_model.spec, ct2_model.revision, variables, ct2_model.aliases)
    with pytest.raises(ValueError, match="key bias is not zero"):
        whisper_state_dict(altered, TINY_EN)


def test_it_refuses_a_variable_it_cannot_place(ct2_model: Ct2Model) -> None:
    variables = {**ct2_model.variables, "decoder/layer_0/extra/weight": np.zeros(3, np.float16)}
    altered = Ct2Model(ct2_model.spec, ct2_model.revision, variables, ct2_model.aliases)
    with pytest.raises(ValueError, match="no openai-whisper counterpart"):
        whisper_state_dict(altered, TINY_EN)


def test_it_refuses_a_truncated_model_bin(tmp_path: Path) -> None:
    truncated = tmp_path / "model.bin"
    truncated.write_bytes((whisper_tiny_en_dir() / "model.bin").read_bytes()[:100_000])
    with pytest.raises(ValueError, match="cannot hold"):
        read_model_bin(truncated)


def test_the_checkpoint_loads_strictly_into_openai_whisper(checkpoint: Path) -> None:
    import torch

    require_module("whisper", "the checkpoint is loaded into openai-whisper's model")
    from whisper.model import ModelDimensions, Whisper

    saved = torch.load(checkpoint, weights_only=True)
    assert saved["dims"] == TINY_EN
    model = Whisper(ModelDimensions(**saved["dims"]))
    # strict: every parameter and persistent buffer present, none extra, every shape right.
    model.load_state_dict(saved["model_state_dict"], strict=True)
    assert not model.is_multilingual


def test_the_encoder_matches_ctranslate2(whisper_model: Any, mel: Any, ct2_reference: Any) -> None:
    import torch

    with torch.no_grad():
        ours = whisper_model.encoder(mel).numpy()
    theirs = np.array(ct2_reference.encode(ctranslate2.StorageView.from_array(mel.numpy())))
    assert theirs.shape == ours.shape == (1, 1500, 384)
    assert np.abs(ours - theirs).max() < TOLERANCE


def test_the_decoder_logits_match_ctranslate2(
    whisper_model: Any, mel: Any, ct2_reference: Any
) -> None:
    import torch

    # A forced text prefix makes every step attend over several earlier positions.
    prefix = [383, 5827, 2098, 4203]  # " The patient reported feeling"
    features = ct2_reference.encode(ctranslate2.StorageView.from_array(mel.numpy()))
    result = ct2_reference.generate(
        features,
        [[SOT, NO_TIMESTAMPS, *prefix]],
        beam_size=1,
        max_length=24,
        suppress_tokens=[],
        suppress_blank=False,
        return_logits_vocab=True,  # despite the name, the raw logits
    )[0]
    # CTranslate2 returns the prefix as part of the sequence, and one row of logits per token
    # of it (forced or chosen), each predicting that token from the positions before it.
    sequence = result.sequences_ids[0]
    theirs = np.stack([np.array(step).reshape(-1) for step in result.logits[0]])
    with torch.no_grad():
        tokens = torch.tensor([[SOT, NO_TIMESTAMPS, *sequence]])
        ours = whisper_model.decoder(tokens, whisper_model.encoder(mel))[0, 1:].numpy()
    assert sequence[: len(prefix)] == prefix
    assert len(sequence) > len(prefix) + 2
    assert ours[len(prefix) : len(sequence)].argmax(axis=-1).tolist() == sequence[len(prefix) :]
    assert np.abs(ours[: len(theirs)] - theirs).max() < TOLERANCE
