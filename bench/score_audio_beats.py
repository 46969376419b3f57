"""Beats and bars from audio: the MIDI tracker on a transcription against madmom's audio models.

Issue 23 asks whether an audio beat/downbeat model whose weights ship in a wheel (madmom's
RNNs) improves on the MIDI tracker where the audio is at hand (``transcribe -o x.musicxml``).
No recording here has beat annotations, so ASAP performances (one per piece of the chosen
part, the first ``--seconds`` of each) are rendered through the Salamander piano (a sampled
Yamaha C5, 16 kHz) and scored as ``bench/score_asap.py`` scores the MIDI tracker:

- ``midi``: the MIDI tracker on the performance MIDI itself (what a perfect transcription gives);
- ``transcribed``: the bundled transcription model, then the MIDI tracker (what pianotx does);
- ``madmom``: madmom's RNNDownBeatProcessor and DBNDownBeatTrackingProcessor (bars of 2, 3, 4)
  on the audio; the division of the beat from the transcription's onsets;
- ``madmom beats``: madmom's RNNBeatProcessor and DBNBeatTrackingProcessor (beats only).

madmom 0.16.1 (its last release, 2018) does not build on Python 3.11 (its generated C needs
``longintrepr.h``), imports ``collections.MutableSequence`` and needs numpy < 1.24, so it runs
in its own interpreter (``--madmom-python``), which this script calls with ``--madmom-only``:
that mode imports only numpy and madmom. Such an interpreter, made here::

    python3 -m venv venv-mm && . venv-mm/bin/activate
    pip install "numpy<1.24" "cython<3" scipy mido wheel setuptools
    pip download --no-deps --no-build-isolation --no-binary :all: madmom==0.16.1
    tar xzf madmom-0.16.1.tar.gz && find madmom-0.16.1/madmom -name "*.c" -delete
    pip install --no-build-isolation ./madmom-0.16.1
    sed -i 's/from collections import MutableSequence/from collections.abc import MutableSequence/' \
        venv-mm/lib/python3.11/site-packages/madmom/processors.py

Everything is cached in OUT (audio, transcriptions, activations), so a rerun only scores.

Usage: python bench/score_audio_beats.py OUT [ASAP_DIR ...] [--part test] [--seconds 90]
           [--limit N] [--workers 2]
           --madmom-python /path/to/venv/bin/python
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

MADMOM_BARS = (2, 3, 4)


def madmom_outputs(wav: Path) -> dict[str, np.ndarray]:
    """madmom's beat and downbeat activations (100 frames/s) and its DBNs' beats of a wav."""
    from madmom.features.beats import DBNBeatTrackingProcessor, RNNBeatProcessor
    from madmom.features.downbeats import DBNDownBeatTrackingProcessor, RNNDownBeatProcessor

    down_act = RNNDownBeatProcessor()(str(wav))
    bars = DBNDownBeatTrackingProcessor(beats_per_bar=list(MADMOM_BARS), fps=100)(down_act)
    beat_act = RNNBeatProcessor()(str(wav))
    beats = DBNBeatTrackingProcessor(fps=100)(beat_act)
    return {"down_act": down_act, "bars": bars, "beat_act": beat_act, "beats": beats}


def madmom_only(jobs: list[tuple[str, str]]) -> None:
    for wav, out in jobs:
        if not Path(out).exists():
            np.savez(out + ".part.npz", **madmom_outputs(Path(wav)))
            Path(out + ".part.npz").rename(out)
        print(f"madmom: {Path(wav).name}", flush=True)


def main() -> None:
    if "--madmom-only" in sys.argv:
        return madmom_only(json.loads(Path(sys.argv[sys.argv.index("--madmom-only") + 1]).read_text()))
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("roots", nargs="*", type=Path)
    parser.add_argument("--part", default="test")
    parser.add_argument("--seconds", type=float, default=90.0, help="first seconds of each performance")
    parser.add_argument("--limit", type=int, help="first N pieces only")
    parser.add_argument("--madmom-python", type=Path, help="an interpreter with madmom (default: this one)")
    parser.add_argument("--workers", type=int, default=2, help="madmom processes (with --madmom-python)")
    args = parser.parse_args()
    run(args)


def run(args: argparse.Namespace) -> None:
    from score_asap import DEFAULT_ASAP

    from pianotx.data.asap import asap_rows

    roots = args.roots or [DEFAULT_ASAP]
    args.out.mkdir(parents=True, exist_ok=True)
    items = []
    for root in roots:
        seen = set()
        for row in asap_rows(root, args.part):
            if row["folder"] not in seen:
                seen.add(row["folder"])
                items.append((root, row))
    items = items[:args.limit] if args.limit else items
    started = time.perf_counter()
    cases = [prepare(root, row, args.out, args.seconds) for root, row in items]
    print(f"rendered and transcribed {len(cases)} performances in {time.perf_counter() - started:.0f} s",
          file=sys.stderr, flush=True)
    jobs = [(str(c["wav44"]), str(c["madmom"])) for c in cases]
    started = time.perf_counter()
    if args.madmom_python:
        workers = []
        for k in range(args.workers):
            job_file = args.out / f"madmom-jobs-{k}.json"
            job_file.write_text(json.dumps(jobs[k::args.workers]))
            workers.append(subprocess.Popen([str(args.madmom_python), __file__, "--madmom-only", str(job_file)]))
        if any(worker.wait() for worker in workers):
            raise SystemExit("madmom failed (see above)")
    else:
        madmom_only(jobs)
    print(f"madmom in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    rows = [score(case) for case in cases]
    systems = ("midi", "transcribed", "madmom", "madmom beats")
    print(f"{len(rows)} performances (first {args.seconds:.0f} s of one per piece, {args.part} part), "
          "Salamander piano")
    print("| system | beat F1 | precision | recall | any level | downbeat F1 | meter acc. |")
    print("|---|---|---|---|---|---|---|")
    for system in systems:
        values = [r[system] for r in rows]
        mean = {k: 100 * float(np.mean([v[k] for v in values])) for k in values[0]}
        cells = [f"{mean[k]:.1f}" if k in mean else "" for k in
                 ("beat_f", "beat_p", "beat_r", "beat_any", "downbeat_f", "meter")]
        print(f"| {system} | " + " | ".join(cells) + " |")
    (args.out / "scores.json").write_text(json.dumps(rows))


def prepare(root: Path, row: dict, out: Path, seconds: float) -> dict:
    """Render (once) the first ``seconds`` of a performance and transcribe it (once)."""
    import soundfile

    from pianotx.data.asap import read_annotations
    from pianotx.music.midi import read_midi
    from pianotx.music.notes import Note, Pedal

    truth = read_annotations(root / row["performance_annotations"])
    name = row["midi_performance"].replace("/", "_").removesuffix(".mid")
    played = read_midi(root / row["midi_performance"])
    # some performances start minutes into their file: cut from a second before the first note
    t0 = max(0.0, min(min(n.onset_s for n in played.notes), float(truth.beats_s[0])) - 1.0)
    notes = [Note(n.onset_s - t0, min(n.offset_s - t0, seconds), n.pitch, n.velocity)
             for n in played.notes if t0 <= n.onset_s < t0 + seconds]
    pedals = [Pedal(max(p.onset_s - t0, 0.0), min(p.offset_s - t0, seconds)) for p in played.pedals
              if p.offset_s > t0 and p.onset_s < t0 + seconds]
    wav, wav44, found = out / f"{name}.wav", out / f"{name}.44k.wav", out / f"{name}.notes.npy"
    if not wav.exists():
        audio = render_salamander(notes, pedals)
        soundfile.write(out / f"{name}.part.wav", audio, 16000)
        (out / f"{name}.part.wav").rename(wav)
    if not wav44.exists():
        import librosa

        audio, _ = soundfile.read(wav, dtype="float32")
        soundfile.write(out / f"{name}.part44.wav", librosa.resample(audio, orig_sr=16000, target_sr=44100),
                        44100, subtype="PCM_16")
        (out / f"{name}.part44.wav").rename(wav44)
    if not found.exists():
        np.save(out / f"{name}.part.npy", transcribe_notes(wav))
        (out / f"{name}.part.npy").rename(found)
    beats_s, downbeats_s = truth.beats_s - t0, truth.downbeats_s - t0
    return {"name": name, "notes": notes, "wav44": wav44, "found": found, "madmom": out / f"{name}.madmom.npz",
            "beats_s": beats_s[(beats_s >= 0) & (beats_s < seconds)],
            "downbeats_s": downbeats_s[(downbeats_s >= 0) & (downbeats_s < seconds)], "signature": truth.signature}


_TIMBRE = []
_MODEL = []


def render_salamander(notes, pedals) -> np.ndarray:
    from pianotx.data.synth.render import peak_normalize, render
    from pianotx.data.synth.timbres import default_soundfont_dir, find_timbre, prepare_timbre

    if not _TIMBRE:
        folder = default_soundfont_dir()
        _TIMBRE.append(prepare_timbre(find_timbre("salamander", soundfont_dir=folder), soundfont_dir=folder,
                                      sample_rate=16000))
    return peak_normalize(render(_TIMBRE[0], notes, pedals, sample_rate=16000, seed=0), peak_dbfs=-1.0)


def transcribe_notes(wav: Path) -> np.ndarray:
    import pianotx

    if not _MODEL:
        _MODEL.append(pianotx.load_model())
    found = pianotx.transcribe(wav, model=_MODEL[0])
    return np.array([(n.onset_s, n.offset_s, n.pitch, n.velocity) for n in found.notes], dtype=float)


def score(case: dict) -> dict:
    from pianotx.evaluation.beats import any_level_f_measure, beat_f_measure, beat_precision_recall
    from pianotx.music.notes import Note
    from pianotx.score.chain import analyse
    from pianotx.score.meter import beat_division, downbeats, meter_of

    truth_meter = meter_of(case["signature"])
    reference, reference_down = case["beats_s"], case["downbeats_s"]

    def scores(beats_s, downbeats_s, meter) -> dict:
        precision, recall = beat_precision_recall(reference, beats_s)
        result = {"beat_f": beat_f_measure(reference, beats_s), "beat_p": precision, "beat_r": recall,
                  "beat_any": any_level_f_measure(reference, beats_s)}
        if downbeats_s is not None:
            result |= {"downbeat_f": beat_f_measure(reference_down, downbeats_s), "meter": float(meter == truth_meter)}
        return result

    found = [Note(float(a), float(b), int(p), int(v)) for a, b, p, v in np.load(case["found"])]
    result = {"name": case["name"]}
    for system, notes in (("midi", case["notes"]), ("transcribed", found)):
        analysis = analyse(notes)
        beats_s, meter = analysis.beats_s, analysis.meter
        result[system] = scores(beats_s, downbeats(beats_s, meter), (meter.beats_per_bar, meter.division))
    madmom = np.load(case["madmom"])
    bars = madmom["bars"]
    beats_s, positions = bars[:, 0], bars[:, 1].astype(int)
    division = beat_division(sorted(found, key=lambda n: n.onset_s), beats_s) if len(beats_s) > 1 else 2
    result["madmom"] = scores(beats_s, beats_s[positions == 1], (int(positions.max()), division))
    result["madmom beats"] = scores(madmom["beats"], None, None)
    return result


if __name__ == "__main__":
    main()
