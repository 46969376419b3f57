"""Augmentation of training crops: takes a crop and a random generator, gives the crop as if
recorded elsewhere (``basic``: gain, EQ, reverb, noise, detune; ``recording``: rooms, mics)."""
