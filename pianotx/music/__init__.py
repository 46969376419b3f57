"""Music stage: takes notes and sustain-pedal intervals (seconds, MIDI pitch), gives label rolls
(``notes``), MIDI files (``midi``), CSV/JSON note lists (``notelist``) and written outputs (``outputs``)."""
