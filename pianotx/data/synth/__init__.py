"""Synthetic training data: takes pianistic MIDI (procedural, corpus or performances) and
sampled pianos, gives rendered audio with its MIDI and split, as a training dataset.

``music`` and ``corpus`` make notes and pedal, ``humanize`` adds a player's timing and
dynamics, ``timbres`` finds the installed piano sounds, ``render`` turns notes into audio,
and ``build`` plans and writes a dataset in MAESTRO's layout. Nothing runs at import.
"""
