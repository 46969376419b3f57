"""Engine stage: takes audio and a model (``torch_engine``, or ``onnx_engine`` without torch),
gives probability rolls over overlapping ``windows``, and notes from them (``decode``)."""
