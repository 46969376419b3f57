"""Make examples/example.flac and examples/example.mid: 8 s of music from pianotx's own
generator (seed 7), humanized, rendered with the MuseScore General piano (public-domain
samples) through FluidSynth. Needs Debian's fluidsynth and musescore-general-soundfont.

Usage: python scripts/make_example.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from pianotx.music.midi import notes_to_midi, write_midi
from pianotx.data.synth.humanize import crop, humanize
from pianotx.data.synth.music import generate_piece

SEED, SECONDS = 7, 8.0
out = Path(__file__).resolve().parent.parent / "examples"
rng = np.random.default_rng(SEED)
piece = generate_piece(rng, duration_s=SECONDS + 4)
notes, pedals = humanize(piece.notes, piece.pedals, rng)
notes, pedals = crop(notes, pedals, SECONDS)
write_midi(notes_to_midi(notes, pedals=pedals), out / "example.mid", overwrite=True)
with tempfile.TemporaryDirectory() as tmp:
    wav = Path(tmp) / "example.wav"
    subprocess.run([sys.executable, "-m", "pianotx", "render", str(out / "example.mid"), "-o",
                    str(wav), "--timbre", "musescore", "--sample-rate", "44100"], check=True)
    audio, rate = sf.read(wav, dtype="float32")
mono = audio.mean(axis=1) if audio.ndim == 2 else audio
sf.write(out / "example.flac", mono[: int((SECONDS + 1.0) * rate)], rate, subtype="PCM_16")
print(f"{len(notes)} notes, {len(pedals)} pedal presses, {len(mono) / rate:.1f} s rendered")
