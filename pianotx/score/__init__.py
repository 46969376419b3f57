"""Sheet music from a performance: beats, meter, key, quantization, hands, voices, MusicXML.

The chain, stage by stage: :mod:`~pianotx.score.beats` (beats from note onsets),
:mod:`~pianotx.score.meter` (beats per bar, downbeats, simple or compound),
:mod:`~pianotx.score.key`, :mod:`~pianotx.score.quantize` (the metrical grid, triplets),
:mod:`~pianotx.score.hands` (two staves), :mod:`~pianotx.score.voices`,
:mod:`~pianotx.score.spell`, :mod:`~pianotx.score.marks` (dynamics, pedal) and
:mod:`~pianotx.score.musicxml`. :mod:`~pianotx.score.chain` joins them. Spelling, key and
MusicXML use partitura (extra ``pianotx[score]``), imported only when called.
"""

from __future__ import annotations

from pianotx.score.chain import Analysis, Score, analyse, make_score

__all__ = ["Analysis", "Score", "analyse", "make_score"]
