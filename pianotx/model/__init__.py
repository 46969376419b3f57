"""Model stage: takes a ModelConfig (or a checkpoint file), gives the network (``networks``,
``freqnet``), its training loss, checkpoints saved and loaded strictly, and the ONNX export."""
