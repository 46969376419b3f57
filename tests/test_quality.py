"""A quality floor for each shipped model against independent references.

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
MAPS_EXCERPT = ("MAPS_MUS-chpn-p15_ENSTDkAm", 30.0)
# Note-onset F1 floors (the bundled example, the maps-dev excerpt) of each bundled model.
FLOORS = {
    # 0.2.1: 0.635 / 0.582; with onset_rearm 0.25: 0.685 / 0.602; 0.4.0: 0.734 / 0.743;
    # 0.5.0: 0.735 / 0.717; 0.6.0: 0.755 / 0.775; 0.7.0: 0.785 / 0.791;
    # 0.8.0 (bass rise and frame-started notes, chosen on maps-dev): 0.757 / 0.831
    "fcnn-notes": (0.75, 0.80),
    # 0.3.0 (300 steps): 0.182 / 0.434; 0.8.0 (3,000 steps, 2.1 CPU-hours): 0.256 / 0.499
    "fcnn": (0.22, 0.45),
    # 0.3.0 (250 steps): 0.015 / 0.105; 0.8.0 (2,965 steps, 2.1 CPU-hours): 0.200 / 0.376
    "crnn": (0.17, 0.33),
}


def _onset_f1(name: str, root: Path, stem: str, seconds: float | None = None) -> float:
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
    notes, pedals = pianotx.transcribe(audio, 16_000, model=pianotx.load_model(name, device="cpu"))
    notes = extend_by_pedal(notes, pedals) if pedals else notes
    if seconds is not None:
        notes = [n for n in notes if n.onset_s < seconds - 0.5]
    return note_scores(ref, notes, metrics=("note",))["note/f1"]


def test_every_bundled_model_has_floors():
    from pianotx.bundled import bundled_models

    assert set(bundled_models()) == set(FLOORS)


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_each_model_transcribes_the_example_as_played(name):
    assert _onset_f1(name, ROOT / "examples", "example") >= FLOORS[name][0]


@pytest.mark.skipif(not (MAPS_DEV / f"{MAPS_EXCERPT[0]}.flac").is_file(),
                    reason="the real-piano validation set (../shared/data/maps-dev) is absent")
@pytest.mark.parametrize("name", sorted(FLOORS))
def test_each_model_on_a_real_piano_excerpt(name):
    assert _onset_f1(name, MAPS_DEV, *MAPS_EXCERPT) >= FLOORS[name][1]
