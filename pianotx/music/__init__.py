"""Music stage: takes notes and sustain-pedal intervals (seconds, MIDI pitches), gives
label rolls, MIDI files and CSV/JSON note lists, and reads them back (``notes``, ``midi``, ``notelist``)."""
