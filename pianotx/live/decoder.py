"""Probability rows arriving one frame at a time -> note and pedal events (pure numpy).

:class:`LiveDecoder` follows :func:`pianotx.engine.decode.extract_notes` frame by frame, so
a streamed recording gives the notes offline decoding gives, as soon as each is certain:

- a note starts at a local maximum of its key's onset probability at or above the key's
  onset threshold (``onset_threshold``, raised below middle C by ``onset_bass_slope``;
  known one frame later), if the probability dipped below ``onset_rearm`` times that
  threshold since the key's last kept peak (a higher peak without such a dip replaces the
  kept one, as offline, but a note already sent keeps its start);
- it ends at the first frame from ``start + 1`` whose frame probability is below
  ``frame_threshold``, at least ``min_note_s`` after its start, or at the key's next onset;
  with ``refine``, its end moves to an offset peak within two frames, so it is sent two
  frames after its end;
- with ``frame_note_min_s``, a frame-started note (see
  :func:`pianotx.engine.decode.frame_spans`) is sent once its run has lasted that long and
  ``FRAME_NOTE_GAP + 1`` frames have passed (about 0.1 s after it began), with the onset
  time it has offline;
- pedal presses are runs of the pedal probability at or above ``pedal_threshold``, sent
  once ``min_pedal_s`` long and again when they end.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from pianotx.config import MIN_MIDI, N_KEYS, DecodeConfig
from pianotx.engine.decode import (FRAME_NOTE_GAP, FRAME_NOTE_REACH, OFFSET_SEARCH,
                                   head_velocity, key_onset_thresholds, peak_shift)

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
        # Frame-started notes: decided ``delay`` frames after their run starts.
        self.run_frames = int(round(config.frame_note_min_s * frame_rate))
        self.delay = max(self.run_frames, FRAME_NOTE_GAP + 1)
        self.history = max(HISTORY, self.delay + FRAME_NOTE_REACH + 2)
        self.run_start = np.full(N_KEYS, -1)  # start of the key's run at frame_note_level
        self.runs: list[list[int]] = []  # undecided runs: [key, start, end or -1]
        self.onset_starts: list[list[int]] = [[] for _ in range(N_KEYS)]  # recent ones
        self.frame_notes: dict[int, list[int]] = {}  # key -> [run start, inactive, note, begin]
        self.rows: list[dict[str, np.ndarray]] = []  # the last ``history`` rows
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
            if len(self.rows) > self.history:
                self.rows.pop(0)
                self.first += 1
        return events

    def close(self) -> list[LiveEvent]:
        """End of the recording: settle the last row and end every open note and press."""
        n = self.frames
        events: list[LiveEvent] = []
        if self.rows:
            events += self._settle(n - 1, following=np.full(N_KEYS, -np.inf))
        for run in list(self.runs):  # runs the recording's end cut before their decision
            events += self._decide_run(run, n)
        for key in np.flatnonzero(self.start >= 0):
            self._close_note(int(key), self._end(int(key), limit=n))
        for key in list(self.frame_notes):
            self._close_frame_note(key, limit=n)
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
            level = self.level[key]
            if self.kept[key] < 0 or level <= 0 or self.since_min[key] < level:
                if self.start[key] >= 0:  # the next onset ends the open note
                    self._close_note(int(key), self._end(int(key), limit=c))
                events.append(self._open_note(int(key), c))
            elif onset[key] > self.kept_value[key]:
                if self.start[key] < 0:  # its note already ended: the later peak starts one
                    events.append(self._open_note(int(key), c))
                self.kept[key], self.kept_value[key] = c, onset[key]
        # The lowest onset probability since each key's kept peak (from it, where it is c).
        self.since_min = np.where(self.kept == c, onset, np.minimum(self.since_min, onset))
        if self.run_frames > 0:
            events += self._frame_note_step(c, row)
        off = (self.start >= 0) & (self.start < c) & (self.inactive < 0) & (row["frame"] < cfg.frame_threshold)
        self.inactive[off] = c
        for key in np.flatnonzero((self.start >= 0) & (self.inactive >= 0)):
            end = max(self.inactive[key], self.start[key] + self.min_frames)
            if end <= c:
                self._close_note(int(key), int(end))
        if "pedal" in row:
            events += self._pedal(c, row["pedal"][0] >= cfg.pedal_threshold)
        return events

    def _frame_note_step(self, c: int, row: dict[str, np.ndarray]) -> list[LiveEvent]:
        """Frame-started notes at frame ``c`` (after its onsets): end open ones, track runs
        at ``frame_note_level``, decide the runs that started ``delay`` frames ago."""
        events: list[LiveEvent] = []
        for key, (start, inactive, _, _) in list(self.frame_notes.items()):
            if self.start[key] == c:  # an onset-gated note of the key starts here
                self._close_frame_note(key, limit=c)
            elif inactive < 0 and row["frame"][key] < self.config.frame_threshold:
                self.frame_notes[key][1] = inactive = c
            if (key in self.frame_notes and inactive >= 0
                    and max(inactive, start + self.min_frames) <= c):
                self._close_frame_note(key, limit=c)
        on = row["frame"] >= self.config.frame_note_level
        for key in np.flatnonzero(on & (self.run_start < 0)):
            self.run_start[key] = c
            self.runs.append([int(key), c, -1])
        ended = ~on & (self.run_start >= 0)
        for run in self.runs:
            if run[2] < 0 and ended[run[0]] and run[1] == self.run_start[run[0]]:
                run[2] = c
        self.run_start[ended] = -1
        self.runs = [r for r in self.runs if r[2] < 0 or r[2] - r[1] >= self.run_frames]
        for run in [r for r in self.runs if r[1] + self.delay == c]:
            events += self._decide_run(run, c + 1)
        return events

    def _decide_run(self, run: list[int], available: int) -> list[LiveEvent]:
        """Open the frame-started note of ``run`` (rows before ``available`` known) if it
        is one, as :func:`pianotx.engine.decode.frame_spans` decides."""
        self.runs.remove(run)
        key, start, end = run
        if (end if end >= 0 else available) - start < self.run_frames:
            return []
        starts = [s for s in self.onset_starts[key] if s >= start - FRAME_NOTE_GAP]
        if any(s <= start + FRAME_NOTE_GAP for s in starts):
            return []
        lo, hi = max(start - FRAME_NOTE_REACH, 0), min(start + FRAME_NOTE_REACH + 1, available)
        near = np.array([self._row(f)["onset"][key] for f in range(lo, hi)])
        if near.max() < self.config.frame_note_onset:
            return []
        begin = lo + int(np.argmax(near))
        inactive = next((f for f in range(start + 1, available)
                         if self._row(f)["frame"][key] < self.config.frame_threshold), -1)
        velocity = self._velocity(begin, key)
        if key in self.frame_notes:  # the key's previous one (frame threshold below the
            self._close_frame_note(key, limit=start)  # run level) ends where this run starts
        note, self.count = self.count, self.count + 1
        self.frame_notes[key] = [start, inactive, note, begin]
        later = [s for s in starts if s > start]
        if later:
            self._close_frame_note(key, limit=later[0])
        elif inactive >= 0 and max(inactive, start + self.min_frames) < available:
            self._close_frame_note(key, limit=available)
        return [LiveEvent("note_on", begin / self.frame_rate, MIN_MIDI + key, velocity, note)]

    def _close_frame_note(self, key: int, *, limit: int) -> None:
        start, inactive, note, begin = self.frame_notes.pop(key)
        end = inactive if 0 <= inactive < limit else limit
        end = max(min(max(end, start + self.min_frames), limit), begin + 1)
        self.closing.append((key, end, begin / self.frame_rate, note))

    def _end(self, key: int, *, limit: int) -> int:
        """The open note's end when ``limit`` (the key's next onset, or the recording's
        end) cuts it: its first inactive frame, at least ``min_frames`` after its start."""
        end = self.inactive[key] if self.inactive[key] >= 0 else limit
        return int(min(max(end, self.start[key] + self.min_frames), limit))

    def _open_note(self, key: int, c: int) -> LiveEvent:
        self.start[key], self.inactive[key], self.kept[key] = c, -1, c
        recent = self.onset_starts[key]
        recent.append(c)
        del recent[:-8]  # frame-note checks look FRAME_NOTE_GAP frames back
        self.kept_value[key] = self._row(c)["onset"][key]
        time = float(c)
        if self.refine and 0 < c < self.frames - 1:  # offline: no shift at either end
            time += peak_shift(np.array([self._row(f)["onset"][key] for f in (c - 1, c, c + 1)]), 1)
        self.onset_time[key] = time / self.frame_rate
        velocity = self._velocity(c, key)
        self.note[key], self.count = self.count, self.count + 1
        return LiveEvent("note_on", float(self.onset_time[key]), MIN_MIDI + key, velocity,
                         int(self.note[key]))

    def _velocity(self, frame: int, key: int) -> int:
        """The key's velocity read at ``frame``, as offline decoding reads it."""
        row = self._row(frame)
        return head_velocity(row["velocity"][key]) if "velocity" in row else \
            self.config.default_velocity

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
