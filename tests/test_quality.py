"""A quality floor for the shipped default model against independent references.

The golden-notes test (test_bundled) compares the model with its own earlier output; these
compare it with what was played: the bundled example's own MIDI, and, where the real-piano
validation set is present, a 30 s excerpt of a Disklavier recording. A floor moves up when a
better model ships, never down (measured values in the comments).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAPS_DEV = Path(os.environ.get("PIANOTX_MAPS_DEV", ROOT.parent / "shared" / "data" / "maps-dev"))
EXAMPLE_FLOOR = 0.72  # fcnn-notes 0.2.1: 0.635; with onset_rearm 0.25: 0.685; 0.4.0: 0.734; 0.5.0: 0.735; 0.6.0: 0.755
MAPS_EXCERPT = ("MAPS_MUS-chpn-p15_ENSTDkAm", 30.0)
MAPS_FLOOR = 0.72  # fcnn-notes 0.2.1: 0.582; with onset_rearm 0.25: 0.602; 0.4.0: 0.743; 0.5.0: 0.717; 0.6.0: 0.775


def _onset_f1(root: Path, stem: str, seconds: float | None = None) -> float:
    import pianotx
    from pianotx.audio.load import load_audio
    from pianotx.data.readers import find_items, load_reference
    from pianotx.evaluation.metrics import note_scores
    from pianotx.music.notes import extend_by_pedal

    item = next(i for i in find_items(root) if Path(i.audio_path).stem == stem)
    audio = load_audio(item.audio_path)
    ref, _ = load_reference(item)
    if seconds is not None:  # notes starting in the last 0.5 s may be cut either side
        audio = audio[: int(seconds * 16_000)]
        ref = [n for n in ref if n.onset_s < seconds - 0.5]
    notes, pedals = pianotx.transcribe(audio, 16_000, model=pianotx.load_model(device="cpu"))
    notes = extend_by_pedal(notes, pedals) if pedals else notes
    if seconds is not None:
        notes = [n for n in notes if n.onset_s < seconds - 0.5]
    return note_scores(ref, notes, metrics=("note",))["note/f1"]


def test_default_model_transcribes_the_example_as_played():
    assert _onset_f1(ROOT / "examples", "example") >= EXAMPLE_FLOOR


@pytest.mark.skipif(not (MAPS_DEV / f"{MAPS_EXCERPT[0]}.flac").is_file(),
                    reason="the real-piano validation set (../shared/data/maps-dev) is absent")
def test_default_model_on_a_real_piano_excerpt():
    assert _onset_f1(MAPS_DEV, *MAPS_EXCERPT) >= MAPS_FLOOR
