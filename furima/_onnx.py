"""One way to open an ONNX model for CPU inference, shared by every encoder and model."""

from __future__ import annotations

from typing import Any

__all__ = ["cpu_session"]


def cpu_session(model: str | bytes, threads: int | None) -> Any:
    """An onnxruntime session on the CPU for a model file path or its bytes.

    Spinning threads are off: they starve everything else on a shared or busy machine.
    ``threads`` caps the intra-op threads (``None``: onnxruntime's default).
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
