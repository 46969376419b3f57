"""Synthetic training data: pianistic MIDI rendered through several sampled pianos.

``music`` and ``corpus`` make notes and pedal, ``humanize`` adds a player's timing and
dynamics, ``timbres`` finds the installed piano sounds, ``render`` turns notes into audio,
and ``build`` plans and writes a dataset in MAESTRO's layout. Nothing runs at import.
"""
