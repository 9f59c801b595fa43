"""The packaged all-MiniLM-L6-v2 on onnxruntime: backends "onnx" (float32) and "onnx-int8" (dynamic int8).

The ONNX graph is exported once, offline, from the packaged weights (torch.onnx, so torch is imported only
then) and cached under `$CITEQA_CACHE/onnx/<weights sha256[:16]>-v<EXPORT_VERSION>/` (default cache
`~/.cache/citeqa`):
    model.onnx        float32, input_ids/attention_mask/token_type_ids (batch, tokens) -> embedding (batch, 384)
                      and tokens (batch, tokens, 384): the last hidden states, for late pooling (index/vectorize.py)
    model-int8.onnx   the same, MatMul weights quantised to int8 per channel (onnxruntime dynamic quantisation)
Mean pooling over the attention mask and L2 normalisation are inside the graph, so one row out is what
sentence-transformers' `encode(..., normalize_embeddings=True)` returns for the same text (max 256 tokens).
Files are written to a temporary name and renamed, so a crash or a concurrent export never leaves half a
model behind. With the file cached, start-up imports onnxruntime and tokenizers only.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from index.embed import Embedder, model_dir, weights_sha256
from index.settings import Settings, offline_libraries

MAX_TOKENS = 256
EXPORT_VERSION = (
    2  # 2: second output "tokens"; bump when the exported graph changes: old cache folders are then ignored
)
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def cache_root() -> Path:
    return Settings.from_env().cache / "onnx"


def onnx_path(quantized: bool) -> Path:
    """Where the cached model lives (it may not exist yet)."""
    sha = weights_sha256(str(model_dir() / "model.safetensors"))
    name = "model-int8.onnx" if quantized else "model.onnx"
    return cache_root() / f"{sha[:16]}-v{EXPORT_VERSION}" / name


def _export_float(dest: Path) -> None:
    """Trace the transformer plus pooling into ONNX (imports torch: only ever runs on a cache miss)."""
    offline_libraries()
    import warnings

    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

    class Pooled(torch.nn.Module):
        def __init__(self, encoder: Any) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2.0, dim=1), hidden

    encoder = AutoModel.from_pretrained(str(model_dir()), local_files_only=True).eval()
    ids = torch.ones((2, 8), dtype=torch.long)
    axes = {name: {0: "batch", 1: "tokens"} for name in INPUTS}
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Pooled(encoder),
            (ids, torch.ones_like(ids), torch.zeros_like(ids)),
            str(dest),
            dynamo=False,
            input_names=list(INPUTS),
            output_names=["embedding", "tokens"],
            dynamic_axes={**axes, "embedding": {0: "batch"}, "tokens": {0: "batch", 1: "tokens"}},
            opset_version=17,
        )


def _quantize(src: Path, dest: Path) -> None:
    import logging

    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:  # onnxruntime's quantiser needs the `onnx` package
        from index.errors import CiteqaError

        raise CiteqaError(
            f"the int8 export needs the onnx package ({exc}), a dependency of citeqa: pip install 'onnx>=1.16', "
            "or set CITEQA_EMBEDDER=onnx"
        ) from exc

    logging.getLogger().setLevel(logging.ERROR)  # its "consider pre-processing" hint is noise here
    # Per-channel MatMul weights only: per-tensor scales, or quantised embedding tables, cost ~0.06 cosine.
    quantize_dynamic(
        str(src), str(dest), op_types_to_quantize=["MatMul"], per_channel=True, weight_type=QuantType.QInt8
    )


def _atomic(dest: Path, make: Callable[[Path], None]) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        make(tmp)
        os.chmod(tmp, 0o644)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def ensure_onnx(quantized: bool = False) -> Path:
    """The cached ONNX file, exported (and quantised) first when missing."""
    dest = onnx_path(quantized)
    if dest.is_file():
        return dest
    if quantized:
        src = ensure_onnx(False)
        _atomic(dest, lambda tmp: _quantize(src, tmp))
    else:
        _atomic(dest, _export_float)
    return dest


class OnnxEmbedder(Embedder):
    def __init__(self, quantized: bool = False, threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.quantized = quantized
        self.backend = "onnx-int8" if quantized else "onnx"
        path = ensure_onnx(quantized)
        opts = ort.SessionOptions()
        # One thread per call, and calls in parallel (a pool in `embed`, concurrent requests in a server): on
        # 2 shared cores a 2-thread call waited on its spinning partner, 2x slower per query (docs/BENCHMARKS.md).
        self.workers = Settings.from_env().threads or os.cpu_count() or 1
        opts.intra_op_num_threads = threads or 1
        opts.inter_op_num_threads = 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # a damaged cache file: say how to fix it rather than fail obscurely
            from index.errors import CiteqaError

            raise CiteqaError(f"cannot load the cached ONNX model {path} ({exc}); delete it to re-export") from exc
        tok = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
        tok.enable_truncation(max_length=MAX_TOKENS)
        tok.no_padding()
        self.tokenizer = tok

    def _feed(self, encodings: Sequence[Any]) -> dict[str, np.ndarray]:
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for i, e in enumerate(encodings):
            ids[i, : len(e.ids)] = e.ids
            mask[i, : len(e.ids)] = 1
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}

    def _run(self, encodings: Sequence[Any]) -> np.ndarray:
        out = self.session.run(["embedding"], self._feed(encodings))
        return np.asarray(out[0], dtype=np.float32)

    def embed_tokens(self, texts: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]]:
        """Per text: (pooled vector (dim,), token states (n_tokens, dim), token character offsets into the text;
        special tokens have (0, 0)). One model run gives both; the pooled vector is the one `embed` returns.
        One text per call (see `embed`), calls spread over the worker threads."""

        def run(text: str) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
            enc = self.tokenizer.encode(text)
            vec, states = self.session.run(["embedding", "tokens"], self._feed([enc]))
            return np.asarray(vec[0], np.float32), np.asarray(states[0], np.float32), list(enc.offsets)

        if len(texts) <= 1:
            return [run(t) for t in texts]
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            return list(pool.map(run, texts))

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed(texts, batch_size=max(1, len(texts)))

    def embed(
        self, texts: Sequence[str], batch_size: int = 64, progress: Callable[[int], Any] | None = None
    ) -> np.ndarray:
        """Tokenise everything once, then run batches of similar token length (little padding).

        int8 runs one text per call: dynamic quantisation scales activations per call, so a batch would make
        a text's vector depend on its neighbours (cosine ~0.99 between the two). On 2 CPU cores batching
        buys little anyway (measured in docs/BENCHMARKS.md)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        step = 1 if self.quantized else max(1, batch_size)
        encodings = self.tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        groups = [order[lo : lo + step] for lo in range(0, len(order), step)]

        def run(idx: list[int]) -> np.ndarray:
            return self._run([encodings[i] for i in idx])

        if len(groups) == 1:  # a query: no pool
            out[groups[0]] = run(groups[0])
            if progress:
                progress(len(texts))
            return out
        pending = 0  # texts done but not yet reported: progress comes about once per `batch_size` texts
        with ThreadPoolExecutor(max_workers=min(self.workers, len(groups))) as pool:
            for n, (idx, vecs) in enumerate(zip(groups, pool.map(run, groups)), start=1):
                out[idx] = vecs
                pending += len(idx)
                if progress and (pending >= batch_size or n == len(groups)):
                    progress(pending)
                    pending = 0
        return out

    def identity(self) -> dict[str, Any]:
        return {**super().identity(), "weights_sha256": weights_sha256(str(model_dir() / "model.safetensors"))}


def onnx_float() -> OnnxEmbedder:  # index.embed.BACKENDS["onnx"]
    return OnnxEmbedder(quantized=False)


def onnx_int8() -> OnnxEmbedder:  # index.embed.BACKENDS["onnx-int8"]
    return OnnxEmbedder(quantized=True)
