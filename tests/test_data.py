"""Dataset reading (MAESTRO layout, folders of pairs), bad datasets, and training crops."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from pianotx.data.augment.basic import AugmentConfig
from pianotx.data.readers import Item, check_readable, empty_split_error, find_items, load_reference
from pianotx.data.crops import SegmentDataset
from pianotx.errors import ConfigError, DatasetError
from pianotx.music.midi import notes_to_midi, write_midi
from pianotx.music.notes import Note, Pedal

COLUMNS = ["canonical_composer", "canonical_title", "split", "year", "midi_filename",
           "audio_filename", "duration"]
CLICK_S = 1.234375  # exact in MIDI ticks; a click in the audio and a note onset in the MIDI, at the same time
PITCH = 60


def _write_pair(audio_path: Path, midi_path: Path, *, duration_s: float = 2.0,
                sample_rate: int = 44_100, channels: int = 2) -> None:
    """A click at CLICK_S (stereo 44.1 kHz by default) and a matching MIDI note."""
    audio = np.zeros((int(duration_s * sample_rate), channels), np.float32)
    click = int(CLICK_S * sample_rate)
    audio[click : click + 20] = 0.8
    audio_path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(audio_path, audio, sample_rate)
    notes = [Note(0.1, 0.4, 48, 50), Note(CLICK_S, CLICK_S + 0.2, PITCH, 100)]
    write_midi(notes_to_midi(notes, pedals=[Pedal(0.3, 0.6)]), midi_path)


def _maestro(root: Path, *, rows: int = 3) -> list[dict]:
    """A MAESTRO-shaped folder: year folders, 44.1 kHz stereo wavs, CSV metadata."""
    records = []
    for i, split in enumerate(["train", "validation", "test", "train"][:rows]):
        stem = f"{2004 + i % 2}/MIDI-Unprocessed_{i:02d}_R1_2004_wav--{i + 1}"
        _write_pair(root / f"{stem}.wav", root / f"{stem}.midi", duration_s=1.5 + 0.25 * i)
        records.append({"canonical_composer": "Frédéric Chopin", "canonical_title": f"Étude {i}",
                        "split": split, "year": 2004 + i % 2, "midi_filename": f"{stem}.midi",
                        "audio_filename": f"{stem}.wav", "duration": 1.5 + 0.25 * i})
    return records


def _write_csv(path: Path, records: list[dict], columns: list[str] = COLUMNS) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(records)


@pytest.fixture()
def maestro(tmp_path: Path) -> Path:
    root = tmp_path / "maestro-v3.0.0"
    root.mkdir()
    _write_csv(root / "maestro-v3.0.0.csv", _maestro(root))
    return root


@pytest.fixture()
def pairs(tmp_path: Path) -> Path:
    root = tmp_path / "pairs"
    for i, suffix in enumerate([".wav", ".flac", ".wav", ".flac", ".ogg", ".wav"]):
        _write_pair(root / f"sub{i % 2}" / f"take{i}{suffix}", root / f"sub{i % 2}" / f"take{i}.mid",
                    duration_s=1.5, sample_rate=22_050, channels=1)
    return root


def test_maestro_csv(maestro: Path) -> None:
    items = find_items(maestro)
    assert [i.split for i in items] == ["train", "test", "validation"]
    assert all(i.audio_path.is_file() and i.midi_path.is_file() for i in items)
    assert items[0] == Item(maestro / "2004/MIDI-Unprocessed_00_R1_2004_wav--1.wav",
                            maestro / "2004/MIDI-Unprocessed_00_R1_2004_wav--1.midi",
                            "train", "Étude 0", 1.5)
    assert [i.title for i in find_items(maestro, split="validation")] == ["Étude 1"]


def test_maestro_json_v3_columns_and_v1_records(tmp_path: Path) -> None:
    records = _maestro(tmp_path)
    columns = {c: {str(i): r[c] for i, r in enumerate(records)} for c in COLUMNS}
    (tmp_path / "maestro-v3.0.0.json").write_text(json.dumps(columns))
    v3 = find_items(tmp_path)
    (tmp_path / "maestro-v3.0.0.json").unlink()
    (tmp_path / "maestro-v1.0.0.json").write_text(json.dumps(records))
    assert find_items(tmp_path) == v3 and len(v3) == 3


def test_newest_version_and_csv_preferred(tmp_path: Path) -> None:
    records = _maestro(tmp_path)
    _write_csv(tmp_path / "maestro-v2.0.0.csv", records[:1])
    _write_csv(tmp_path / "maestro-v3.0.0.csv", records[:2])
    (tmp_path / "maestro-v3.0.0.json").write_text(json.dumps(records[:3]))
    assert len(find_items(tmp_path)) == 2


def test_synth_csv_with_extra_columns_and_flac(tmp_path: Path) -> None:
    _write_pair(tmp_path / "2024/piece_0.flac", tmp_path / "2024/piece_0.mid",
                sample_rate=16_000, channels=1)
    row = {"canonical_composer": "synth", "canonical_title": "piece 0", "split": "train",
           "year": 2024, "midi_filename": "2024/piece_0.mid", "audio_filename": "2024/piece_0.flac",
           "duration": 2.0, "timbre": "upright", "seed": 7}
    _write_csv(tmp_path / "metadata.csv", [row], COLUMNS + ["timbre", "seed"])
    (item,) = find_items(tmp_path)
    assert item.audio_path.suffix == ".flac" and item.title == "piece 0"


def test_listed_wav_stored_as_flac(maestro: Path) -> None:
    wav = maestro / "2004/MIDI-Unprocessed_00_R1_2004_wav--1.wav"
    data, rate = sf.read(wav)
    sf.write(wav.with_suffix(".flac"), data, rate)
    wav.unlink()
    assert find_items(maestro, split="train")[0].audio_path == wav.with_suffix(".flac")


def test_pairs_split_by_stem_hash(pairs: Path) -> None:
    items = find_items(pairs, val_fraction=0.3, test_fraction=0.3)
    assert len(items) == 6 and {i.title for i in items} == {f"take{i}" for i in range(6)}
    assert all(i.midi_path == i.audio_path.with_suffix(".mid") for i in items)
    assert items[0].duration_s == pytest.approx(1.5)
    before = {i.title: i.split for i in items}
    _write_pair(pairs / "new.wav", pairs / "new.mid")
    after = {i.title: i.split for i in find_items(pairs, val_fraction=0.3, test_fraction=0.3)}
    assert {k: after[k] for k in before} == before
    train = find_items(pairs, split="train", val_fraction=0.3, test_fraction=0.3)
    assert {i.title for i in train} == {k for k, v in after.items() if v == "train"}
    assert all(i.split == "train" for i in find_items(pairs, val_fraction=0, test_fraction=0))


def test_load_reference_extends_by_pedal(maestro: Path) -> None:
    notes, pedals = load_reference(find_items(maestro)[0])
    assert notes[0].pitch == 48 and notes[0].offset_s == pytest.approx(0.6, abs=2e-3)
    assert len(pedals) == 1 and notes[1].onset_s == pytest.approx(CLICK_S, abs=2e-3)


def _rewrite(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda r: _rewrite(r / "maestro-v3.0.0.csv", "audio_filename,", ""),
         r"malformed maestro-v3.0.0.csv: missing column\(s\) audio_filename"),
        (lambda r: _rewrite(r / "maestro-v3.0.0.csv", ",1.75", ",long"),
         r"malformed maestro-v3.0.0.csv line 3: duration 'long' is not a number"),
        (lambda r: _rewrite(r / "maestro-v3.0.0.csv", ",validation,", ",dev,"),
         r"malformed maestro-v3.0.0.csv line 3: split 'dev' is not one of train, validation"),
        (lambda r: _rewrite(r / "maestro-v3.0.0.csv", ",1.75", ""),
         r"malformed maestro-v3.0.0.csv line 3: expected 7 fields"),
        (lambda r: (r / "2004/MIDI-Unprocessed_00_R1_2004_wav--1.wav").unlink(),
         r"1 file\(s\) listed in maestro-v3.0.0.csv are missing under .*: "
         r"2004/MIDI-Unprocessed_00_R1_2004_wav--1.wav"),
        (lambda r: (r / "maestro-v3.0.0.csv").rename(r / "maestro-v3.0.0.json"),
         r"cannot parse .*maestro-v3.0.0.json as JSON"),
        (lambda r: _rewrite(r / "maestro-v3.0.0.csv", ",1.75", ",inf"),
         r"malformed maestro-v3.0.0.csv line 3: duration inf is not a finite positive number"),
        (lambda r: _rewrite(r / "maestro-v3.0.0.csv", ",2004/MIDI-Unprocessed_00_R1_2004_wav--1.wav",
                            ",/data/take.wav"),
         r"malformed maestro-v3.0.0.csv line 2: audio_filename '/data/take.wav' is an absolute "
         r"path; give it relative to the dataset folder"),
    ],
    ids=["missing-column", "bad-duration", "bad-split", "short-row",
         "absent-file", "bad-json", "infinite-duration", "absolute-path"],
)
def test_malformed_maestro(maestro: Path, breakage, message: str) -> None:
    breakage(maestro)
    with pytest.raises(DatasetError, match=message):
        find_items(maestro)


def test_missing_files_are_counted(maestro: Path) -> None:
    for path in list(maestro.rglob("*.midi")):
        path.unlink()
    with pytest.raises(DatasetError, match=r"^3 file\(s\) listed in maestro-v3.0.0.csv are missing"):
        find_items(maestro)


def test_unpaired_files_are_named(pairs: Path) -> None:
    (pairs / "sub0/take0.mid").unlink()
    (pairs / "sub1/take1.flac").unlink()
    with pytest.raises(DatasetError, match=r"1 audio file\(s\) without MIDI: sub0/take0.wav; "
                                           r"1 MIDI file\(s\) without audio: sub1/take1.mid"):
        find_items(pairs)


def test_bad_roots_and_arguments(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="dataset folder not found"):
        find_items(tmp_path / "nowhere")
    with pytest.raises(DatasetError, match=r"no dataset in .*: found no MAESTRO metadata table and"
                                           r" no audio/MIDI pairs"):
        find_items(tmp_path)
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(DatasetError, match="is a file; give the folder"):
        find_items(tmp_path / "file.txt")
    (tmp_path / "notes.csv").write_text("a,b\n1,2\n")
    with pytest.raises(DatasetError, match=r"no dataset .*notes.csv lacks column\(s\) canonical_title"):
        find_items(tmp_path)
    with pytest.raises(DatasetError, match="unknown split 'valid'; use one of train, validation, test"):
        find_items(tmp_path, split="valid")
    with pytest.raises(ConfigError, match="sum to at most 1"):
        find_items(tmp_path, val_fraction=0.6, test_fraction=0.6)


def test_check_readable_names_the_damaged_piece(maestro: Path) -> None:
    items = find_items(maestro, split="validation")
    check_readable(items, role="validation")
    items[0].midi_path.write_bytes(b"not midi")
    with pytest.raises(DatasetError, match=r"^validation piece 'Étude 1': cannot read .*wav--2.midi "
                                           r"as MIDI"):
        check_readable(items, role="validation")
    items[0].audio_path.write_bytes(b"not audio")
    with pytest.raises(DatasetError, match=r"^validation piece 'Étude 1': cannot read audio file "
                                           r".*wav--2.wav \(Format not recognised\); re-export it$"):
        check_readable(items, role="validation")


def test_an_empty_split_says_why_and_how_to_fix(maestro: Path, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"^maestro-v3.0.0.csv in .* has no row with split 'test'"):
        raise empty_split_error(maestro, "test")
    # "take10" hashes into the test split: the train split of this folder is empty
    _write_pair(tmp_path / "one" / "take10.wav", tmp_path / "one" / "take10.mid")
    assert [item.split for item in find_items(tmp_path / "one")] == ["test"]
    with pytest.raises(DatasetError, match=r"^the train split of .*one is empty: its 1 audio/MIDI "
                                           r"pair\(s\) are split by a hash of each file stem \(about "
                                           r"80% train, 10% validation, 10% test\) and none came out "
                                           r"train; add more pairs, or choose the splits in a metadata"):
        raise empty_split_error(tmp_path / "one", "train")


# --- training crops -------------------------------------------------------------------


def _dataset(items, cache: Path, **kwargs) -> SegmentDataset:
    return SegmentDataset(items, cache_dir=cache, segment_s=0.5, seed=3, **kwargs)


def test_crops_are_deterministic_and_shaped(maestro: Path, tmp_path: Path) -> None:
    items = find_items(maestro)
    data = _dataset(items, tmp_path / "cache")
    assert len(data) == round(sum(i.duration_s for i in items) / 0.5)
    first = data[2]
    assert first["audio"].shape == (8000,) and first["audio"].dtype == torch.float32
    assert all(first[k].shape == (51, 88) for k in ("frame", "onset", "offset", "velocity"))
    again = _dataset(items, tmp_path / "cache")[2]
    assert all(torch.equal(first[k], again[k]) for k in first)
    plans = [data.crop(k) for k in range(len(data))]
    data.set_epoch(1)
    assert plans != [data.crop(k) for k in range(len(data))]
    data.set_epoch(0)
    assert plans == [data.crop(k) for k in range(len(data))]


@pytest.mark.parametrize("detune", [False, True])
def test_labels_align_with_the_crop(maestro: Path, tmp_path: Path, detune: bool) -> None:
    augment = AugmentConfig(gain_prob=0, eq_prob=0, reverb_prob=0, noise_prob=0,
                            detune_prob=1.0 if detune else 0.0)
    data = SegmentDataset(find_items(maestro), cache_dir=tmp_path / "c", segment_s=0.5,
                          samples_per_epoch=60, augment=augment)
    checked = 0
    for k in range(len(data)):
        sample = data[k]
        onsets = np.nonzero(sample["onset"][:, PITCH - 21].numpy())[0]
        audio = np.abs(sample["audio"].numpy())
        click = int(np.argmax(audio > 0.4))  # first sample of the click
        if audio[click] > 0.4 and 0.1 < click / 8000 < 0.4:
            assert len(onsets) == 1 and abs(onsets[0] - click / 160) < 0.52, (k, data.crop(k))
            assert sample["velocity"][onsets[0], PITCH - 21] == pytest.approx(100 / 127)
            checked += 1
    assert checked >= 3


def test_dataloader_workers_match(maestro: Path, tmp_path: Path) -> None:
    data = _dataset(find_items(maestro), tmp_path / "cache", augment=AugmentConfig())
    data.prepare()
    data.set_epoch(1)  # workers must see the epoch set before the iterator is made
    batches = []
    for workers in (0, 2):
        loader = torch.utils.data.DataLoader(data, batch_size=4, num_workers=workers)
        batches.append(next(iter(loader)))
    assert all(torch.equal(batches[0][k], batches[1][k]) for k in batches[0])
    data.set_epoch(0)
    assert not torch.equal(next(iter(loader))["audio"], batches[1]["audio"])


def test_cache_only_in_cache_dir(maestro: Path, tmp_path: Path) -> None:
    before = sorted(maestro.rglob("*"))
    cache = tmp_path / "cache"
    data = _dataset(find_items(maestro), cache)
    data.prepare()
    assert sorted(maestro.rglob("*")) == before
    names = sorted(p.name for p in cache.iterdir())
    assert len(names) == 9 and all(n.endswith(".npy") and not n.startswith(".") for n in names)  # audio, notes, pedals x 3
    assert np.load(cache / names[0], mmap_mode="r").dtype == np.float16
    with pytest.raises(DatasetError, match="cache folder .* holds dataset files"):
        _dataset(find_items(maestro), maestro / "2004")


def test_two_audio_files_for_one_stem(pairs: Path) -> None:
    data, rate = sf.read(pairs / "sub0/take0.wav")
    sf.write(pairs / "sub0/take0.flac", data, rate)
    with pytest.raises(DatasetError, match=r"2 files in .* share a stem .*: sub0/take0.flac, "
                                           r"sub0/take0.wav; keep one audio and one MIDI"):
        find_items(pairs)


@pytest.mark.parametrize("duration_s, segment_s, message", [
    (float("inf"), 0.5, "every item needs a finite positive duration_s"),
    (2.0, float("inf"), "segment_s must be finite and > 0 and seed >= 0, got inf, 0"),
])
def test_non_finite_lengths_are_refused(tmp_path: Path, duration_s, segment_s, message) -> None:
    item = Item(tmp_path / "a.wav", tmp_path / "a.mid", "train", "a", duration_s)
    with pytest.raises(DatasetError, match=message):
        SegmentDataset([item], cache_dir=tmp_path / "cache", segment_s=segment_s)
