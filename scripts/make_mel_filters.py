"""Write pianotx/audio/mel_filters.npz: librosa's Slaney mel filterbank for the default front end,
stored so that transcribing needs no librosa. Rerun when FeatureConfig's defaults change.

Run: ``python scripts/make_mel_filters.py``
"""

from __future__ import annotations

from pathlib import Path

import librosa
import numpy as np

from pianotx.config import FeatureConfig
from pianotx.audio.spectrum import filterbank_key

config = FeatureConfig()
weights = librosa.filters.mel(sr=config.sample_rate, n_fft=config.n_fft, n_mels=config.n_mels,
                              fmin=config.fmin, fmax=config.fmax).astype(np.float32)
target = Path(__file__).resolve().parent.parent / "pianotx" / "audio" / "mel_filters.npz"
np.savez_compressed(target, weights=weights, key=np.array(filterbank_key(config), float),
                    librosa=np.array(librosa.__version__))
print(f"wrote {target} ({target.stat().st_size} bytes), librosa {librosa.__version__}")
