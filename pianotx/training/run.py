"""Training: the paper's recipe as a plain PyTorch loop that reads top to bottom.

Adam at 3e-4, the weighted BCE of :mod:`pianotx.model.loss` with ``beta``, random 10 s crops;
an epoch is one pass over the training clips (total duration / segment length crops).
Each step runs forward, loss, zero_grad, backward, clip, step, schedule. Validation decodes
and scores whole validation pieces with :func:`pianotx.evaluation.evaluate.evaluate_model`, the code
behind ``pianotx eval``. The run folder is described in :mod:`pianotx.training.runfolder`.
Nothing here prints: progress goes to ``on_event(TrainEvent)``, on the main process only.
"""

from __future__ import annotations

from pathlib import Path

from pianotx.training.config import EventCallback, TrainConfig


def train(
    config: TrainConfig,
    *,
    out_dir: Path,
    resume: bool = False,
    on_event: EventCallback | None = None,
) -> Path:
    """Train a model as ``config`` says, writing the run folder ``out_dir``.

    Parameters
    ----------
    config : TrainConfig
    out_dir : Path
        Run folder; must be empty or absent unless ``resume``.
    resume : bool
        Continue from ``out_dir/last.pt`` (step, optimizer, RNG and data position).
    on_event : callable(TrainEvent), optional
        Progress callback, called on the main process only.

    Returns
    -------
    Path
        ``best.pt`` when validation ran, else ``last.pt``.

    Raises
    ------
    TrainingError
        On a non-finite or exploding loss, or a resume that does not match the run.
    DatasetError, ConfigError, OutputError
        On a bad dataset, option or run folder.
    """
    from pianotx.training import distributed
    from pianotx.training.loop import finish, run_loop, start

    ctx = distributed.setup(config.device)
    try:
        run = start(config, Path(out_dir), resume=resume, ctx=ctx, on_event=on_event)
        run_loop(run)
        return finish(run)
    finally:
        distributed.teardown(ctx)
