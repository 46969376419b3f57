"""Live stage: takes audio as it arrives (``sources``: raw PCM on a stream or an input device),
gives note and pedal events as soon as each is certain (``session``, ``decoder``)."""
