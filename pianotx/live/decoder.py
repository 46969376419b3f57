"""Probability rows arriving one frame at a time -> note and pedal events (pure numpy).

:class:`LiveDecoder` follows :func:`pianotx.engine.decode.extract_notes` frame by frame, so
a streamed recording gives the notes offline decoding gives, as soon as each is certain:

- a note starts at a local maximum of its key's onset probability at or above the key's
  onset threshold (``onset_threshold``, raised below middle C by ``onset_bass_slope``;
  known one frame later), if
  the probability dipped below ``onset_rearm`` times that threshold since the key's last
  kept peak (a higher peak without such a dip replaces the kept one, as offline, but a note
  already sent keeps its start);
- it ends at the first frame from ``start + 1`` whose frame probability is below
  ``frame_threshold``, at least ``min_note_s`` after its start, or at the key's next onset;
  with ``refine``, its end moves to an offset peak within two frames, so it is sent two
  frames after its end;
- pedal presses are runs of the pedal probability at or above ``pedal_threshold``, sent
  once ``min_pedal_s`` long and again when they end.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from pianotx.config import MIN_MIDI, N_KEYS, DecodeConfig
from pianotx.engine.decode import OFFSET_SEARCH, key_onset_thresholds, peak_shift

# Rows kept: an offset search around a note's end and the neighbours of its peak.
HISTORY = 2 * OFFSET_SEARCH + 4


class LiveEvent(NamedTuple):
    """``kind`` note_on, note_off, pedal_on or pedal_off; ``time_s``: audio time of the
    onset or release; ``pitch`` and ``velocity`` (0 and 0 for the pedal); ``note``: the
    number of the note (from 0, in note_on order) a note_off ends, -1 for the pedal. A
    key's next note_on may come before the note_off of its previous note, whose release
    time waits two frames for the offset head."""

    kind: str
    time_s: float
    pitch: int
    velocity: int
    note: int = -1


class LiveDecoder:
    """Push probability rows (recording frames ``0, 1, 2 ...`` in order); get events."""

    def __init__(self, *, config: DecodeConfig, frame_rate: float, refine: bool) -> None:
        self.config, self.frame_rate, self.refine = config, frame_rate, refine
        self.min_frames = max(int(round(config.min_note_s * frame_rate)), 1)
        self.min_pedal = max(int(round(config.min_pedal_s * frame_rate)), 1)
        self.threshold = key_onset_thresholds(config)  # per key
        self.level = config.onset_rearm * self.threshold
        self.rows: list[dict[str, np.ndarray]] = []  # the last HISTORY rows
        self.first = 0  # recording frame of rows[0]
        self.start = np.full(N_KEYS, -1)  # open note's start frame, -1 when none
        self.onset_time = np.zeros(N_KEYS)
        self.inactive = np.full(N_KEYS, -1)  # first inactive frame of the open note
        self.kept = np.full(N_KEYS, -1)  # last kept onset peak
        self.kept_value = np.full(N_KEYS, -np.inf)  # its onset probability
        self.since_min = np.full(N_KEYS, np.inf)  # min onset probability since it
        self.note = np.full(N_KEYS, -1)  # the open note's number
        self.count = 0  # notes started
        self.closing: list[tuple[int, int, float, int]] = []  # (key, end, onset time, note)
        self.pedal_start = -1

    @property
    def frames(self) -> int:
        """Rows pushed so far."""
        return self.first + len(self.rows)

    def push(self, probs: dict[str, np.ndarray]) -> list[LiveEvent]:
        """Add rows ``(n, width)`` per head; return the events they settle, in time order."""
        events: list[LiveEvent] = []
        for i in range(len(probs["frame"])):
            self.rows.append({name: roll[i] for name, roll in probs.items()})
            if len(self.rows) >= 2:
                events += self._settle(self.frames - 2, following=self.rows[-1]["onset"])
            events += self._finish_closing(self.frames)
            if len(self.rows) > HISTORY:
                self.rows.pop(0)
                self.first += 1
        return events

    def close(self) -> list[LiveEvent]:
        """End of the recording: settle the last row and end every open note and press."""
        n = self.frames
        events: list[LiveEvent] = []
        if self.rows:
            events += self._settle(n - 1, following=np.full(N_KEYS, -np.inf))
        for key in np.flatnonzero(self.start >= 0):
            self._close_note(int(key), self._end(int(key), limit=n))
        events += self._finish_closing(None)
        if self.pedal_start >= 0:
            if n - self.pedal_start >= self.min_pedal:
                events.append(LiveEvent("pedal_off", n / self.frame_rate, 0, 0))
            self.pedal_start = -1
        return events

    def _row(self, frame: int) -> dict[str, np.ndarray]:
        return self.rows[frame - self.first]

    def _settle(self, c: int, *, following: np.ndarray) -> list[LiveEvent]:
        """Decide frame ``c``: onset peaks there, and the open notes' inactivity."""
        cfg, row = self.config, self._row(c)
        onset = row["onset"]
        previous = self._row(c - 1)["onset"] if c - 1 >= self.first else np.full(N_KEYS, -np.inf)
        events: list[LiveEvent] = []
        peaks = (onset >= self.threshold) & (onset > previous) & (onset >= following)
        for key in np.flatnonzero(peaks):
            if self.kept[key] < 0 or self.level[key] <= 0 or self.since_min[key] < self.level[key]:
                if self.start[key] >= 0:  # the next onset ends the open note
                    self._close_note(int(key), self._end(int(key), limit=c))
                events.append(self._open_note(int(key), c))
            elif onset[key] > self.kept_value[key]:
                if self.start[key] < 0:  # its note already ended: the later peak starts one
                    events.append(self._open_note(int(key), c))
                self.kept[key], self.kept_value[key] = c, onset[key]
        # The lowest onset probability since each key's kept peak (from it, where it is c).
        self.since_min = np.where(self.kept == c, onset, np.minimum(self.since_min, onset))
        off = (self.start >= 0) & (self.start < c) & (self.inactive < 0) & (row["frame"] < cfg.frame_threshold)
        self.inactive[off] = c
        for key in np.flatnonzero((self.start >= 0) & (self.inactive >= 0)):
            end = max(self.inactive[key], self.start[key] + self.min_frames)
            if end <= c:
                self._close_note(int(key), int(end))
        if "pedal" in row:
            events += self._pedal(c, row["pedal"][0] >= cfg.pedal_threshold)
        return events

    def _end(self, key: int, *, limit: int) -> int:
        """The open note's end when ``limit`` (the key's next onset, or the recording's
        end) cuts it: its first inactive frame, at least ``min_frames`` after its start."""
        end = self.inactive[key] if self.inactive[key] >= 0 else limit
        return int(min(max(end, self.start[key] + self.min_frames), limit))

    def _open_note(self, key: int, c: int) -> LiveEvent:
        self.start[key], self.inactive[key], self.kept[key] = c, -1, c
        self.kept_value[key] = self._row(c)["onset"][key]
        time = float(c)
        if self.refine and 0 < c < self.frames - 1:  # offline: no shift at either end
            time += peak_shift(np.array([self._row(f)["onset"][key] for f in (c - 1, c, c + 1)]), 1)
        self.onset_time[key] = time / self.frame_rate
        velocity = (int(np.clip(round(float(self._row(c)["velocity"][key]) * 127), 1, 127))
                    if "velocity" in self._row(c) else self.config.default_velocity)
        self.note[key], self.count = self.count, self.count + 1
        return LiveEvent("note_on", float(self.onset_time[key]), MIN_MIDI + key, velocity,
                         int(self.note[key]))

    def _close_note(self, key: int, end: int) -> None:
        self.closing.append((key, end, float(self.onset_time[key]), int(self.note[key])))
        self.start[key], self.inactive[key] = -1, -1

    def _finish_closing(self, available: int | None) -> list[LiveEvent]:
        """note_off for closed notes whose offset search window has arrived (all at the end,
        ``available`` None)."""
        events, waiting = [], []
        for key, end, onset_s, note in self.closing:
            if available is not None and self.refine and end + OFFSET_SEARCH + 1 >= available:
                waiting.append((key, end, onset_s, note))
                continue
            time = float(end)
            if self.refine and "offset" in self.rows[-1]:
                time = self._refined_end(key, end, lower=onset_s * self.frame_rate + 1.0)
            events.append(LiveEvent("note_off", time / self.frame_rate, MIN_MIDI + key, 0, note))
        self.closing = waiting
        return events

    def _refined_end(self, key: int, end: int, *, lower: float) -> float:
        """As :func:`pianotx.engine.decode._refined_end` on the rows around ``end`` (with
        one more row each side for the peak's neighbours, where the recording has them)."""
        lo, hi = max(end - OFFSET_SEARCH, 0), min(end + OFFSET_SEARCH + 1, self.frames)
        if hi <= lo:
            return float(end)
        a, b = max(lo - 1, 0), min(hi + 1, self.frames)
        values = np.array([self._row(f)["offset"][key] for f in range(a, b)])
        peak = lo + int(np.argmax(values[lo - a: hi - a]))
        if values[peak - a] < self.config.offset_threshold:
            return float(end)
        shift = peak_shift(values, peak - a)
        return peak + shift if peak + shift >= lower else float(end)

    def _pedal(self, c: int, down: bool) -> list[LiveEvent]:
        if down and self.pedal_start < 0:
            self.pedal_start = c
        if down and c - self.pedal_start + 1 == self.min_pedal:
            return [LiveEvent("pedal_on", self.pedal_start / self.frame_rate, 0, 0)]
        if not down and self.pedal_start >= 0:
            long_enough = c - self.pedal_start >= self.min_pedal
            self.pedal_start = -1
            return [LiveEvent("pedal_off", c / self.frame_rate, 0, 0)] if long_enough else []
        return []
