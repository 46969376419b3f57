"""Audio stage: takes an audio file or a sample array, gives mono float32 at 16 kHz
(``load``) and its log-mel spectrogram, in torch (``features``) or NumPy (``spectrum``)."""
