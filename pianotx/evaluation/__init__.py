"""Evaluation stage: takes transcribed notes (or a model, or MIDI files) and a dataset's
references, gives frame, note and pedal scores per piece and their mean, and plots."""
