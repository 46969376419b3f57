"""Training stage: takes a TrainConfig and dataset folders, gives a run folder with its
metrics log and checkpoints (``run.train`` is the entry; ``config`` the options all share)."""
