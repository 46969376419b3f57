#!/usr/bin/env bash
# Fine-tune a shipped note model on performance audio with the recording chain (issue 13):
# the recipe of the fcnn-notes 0.4.0 weights. Rerun the same command to resume.
#
# Usage: scripts/finetune_note_model.sh INIT DATA OUT [STEPS]
#   INIT   the checkpoint to start from (a copy of weights/fcnn-notes.pt kept outside the
#          checkout: shipping overwrites the original)
#   DATA   the training folder (pianotx synth output or MAESTRO)
#   OUT    the run folder; keep it outside the checkout
#   STEPS  planned length of the cosine schedule (default 4500; fixed once started)
# Environment: as scripts/train_long.sh (VAL_DATA, THREADS, EXTRA, PRECISION, SNAPSHOT);
# SEED defaults to 7; MODEL defaults to the shipped architecture ("--trunk freq"; add
# --harmonic to grow the harmonic view on a plain INIT).
# It is train_long.sh with the shipped model's architecture (plain temporal head, no
# difference input), --init-from INIT, lr 3e-4 and 100 warm-up steps.
set -euo pipefail
init=${1:?checkpoint to start from}; data=${2:?dataset folder}; out=${3:?run folder}
here=$(cd "$(dirname "$0")" && pwd)
MODEL=${MODEL:---trunk freq} LR=3e-4 WARMUP=100 SEED=${SEED:-7} INIT=$init \
  exec "$here/train_long.sh" "$data" "$out" recording "${4:-4500}"
