"""Cluster batches: takes a collection of audio files and a Ray address, gives mirrored
outputs and a manifest of what each file became (jobs, manifest, ray_runner)."""
