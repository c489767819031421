#!/usr/bin/env bash
# Regenerate docs/images/{prediction,attention}.png with danet's own commands: a short
# `danet train synthetic` run, then `danet predict --format overlay` on a 256 px synthetic scene
# (run at half size, the scale the model was trained at) and `danet visualize attention` on a val scene.
# Usage: bash scripts/make_doc_images.sh [ITERATIONS]   (default 150; needs danet installed)
set -euo pipefail
cd "$(dirname "$0")/.."
iters="${1:-150}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export DANET_HOME="$work/home"

danet train synthetic --iters "$iters" --workers 0 --val-every 0 --project "$work/runs" --name doc
checkpoint="$work/runs/doc/checkpoints/best.pt"
scenes=$(python - "$work/scenes" <<'PY'
import sys

from danet.datasets.synthetic import ensure_synthetic, make_spec

print(ensure_synthetic(make_spec(256, train_count=1, val_count=6, seed=7), root=sys.argv[1]))
PY
)
val_scene="$DANET_HOME/data/synthetic/v3-128x128-train1000-val100-seed0/images/val/000003.png"

danet predict "$scenes/images/val/000001.png" --checkpoint "$checkpoint" --scales 0.5 \
    --format overlay -o docs/images/prediction.png --overwrite
danet visualize attention "$val_scene" --checkpoint "$checkpoint" --panel-size 160 \
    -o docs/images/attention.png --overwrite
ls -l docs/images
