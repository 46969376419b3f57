"""Score stage: takes performance notes and sustain-pedal presses (seconds, MIDI pitch), gives
beats, meter and key (``chain.analyse``), a notated score (``chain.make_score``) and MusicXML.

The stages, each a module: ``beats`` (beats from note onsets), ``meter`` (beats per bar,
downbeats, simple or compound), ``key``, ``quantize`` (the metrical grid, triplets),
``hands`` (two staves), ``voices``, ``spell``, ``marks`` (dynamics, pedal) and ``musicxml``;
``chain`` joins them. Spelling and MusicXML use partitura (extra ``pianotx[score]``),
imported only when called.
"""
