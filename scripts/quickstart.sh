#!/usr/bin/env bash
# The offline quickstart: set up .venv, train DANet on the built-in synthetic street scenes with the
# recipe's defaults, evaluate the best checkpoint on the synthetic val split, then predict one val
# image (when `danet predict` is available). Extra arguments go to `danet train` (e.g. --device cpu).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
. .venv/bin/activate

echo "== 1/3 danet train synthetic $*"
danet train synthetic "$@"

checkpoint=$(python -c "from danet_cli._runs import find_latest_checkpoint; print(find_latest_checkpoint())")
run_dir=$(dirname "$(dirname "$checkpoint")")

echo "== 2/3 danet evaluate $checkpoint"
danet evaluate "$checkpoint" --json "$run_dir/eval_val.json"

predict_help=$(COLUMNS=200 danet predict --help 2>/dev/null || true)
if [[ -z "$predict_help" || "$predict_help" == *"not available"* ]]; then
  echo "== 3/3 skipped: danet predict is not available in this version"
else
  image=$(python - "$checkpoint" <<'EOF'
import sys

from danet.datasets import get_dataset
from danet_cli._runs import training_config

config = training_config(sys.argv[1])
options = config.get("dataset_options") or {}
data = get_dataset(config.get("dataset") or "synthetic", root=config.get("data_root"), split="val", **options)
print(data.items[0].image)
EOF
)
  echo "== 3/3 danet predict $image --checkpoint $checkpoint"
  danet predict "$image" --checkpoint "$checkpoint"
fi

echo
echo "checkpoint:  $checkpoint"
echo "run folder:  $run_dir (config.yaml, metrics.jsonl, train.log, eval_val.json)"
