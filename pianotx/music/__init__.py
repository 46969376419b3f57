"""Music stage: takes notes and sustain-pedal intervals (seconds, MIDI pitch), gives label
rolls (``notes``), MIDI files (``midi``) and CSV/JSON note lists (``notelist``), and back."""
