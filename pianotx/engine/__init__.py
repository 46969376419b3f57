"""Engine stage: takes audio and a model (torch in ``torch_engine``, ONNX Runtime in
``onnx_engine``), gives probability rolls over overlapping ``windows`` and ``decode``s them to notes."""
