"""Data stage: takes dataset folders (MAESTRO, folders of pairs, or ``synth``'s rendered MIDI),
gives (audio, MIDI, split) items (``readers``) and random, ``augment``ed training ``crops``."""
