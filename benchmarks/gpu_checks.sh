#!/usr/bin/env bash
# Every CUDA check in one go, for a lent GPU machine with PyTorch installed (no network needed):
#   1. benchmarks/gpu_checks.py: SDPA kernel of the PAM, PAM/inference/training speed and memory,
#      batched vs one-by-one evaluation;
#   2. the real CLI on CUDA: `torchrun` DDP (NCCL, SyncBatchNorm, AMP) training on the synthetic set,
#      then evaluate and predict with its checkpoint.
# Results land in $OUT (default ./gpu-out): gpu_checks.json, ddp_train.log, ddp_metrics.jsonl, eval.json.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
runs=$(mktemp -d)

nvidia-smi -L
timeout "${CHECKS_TIMEOUT:-330}" python3 benchmarks/gpu_checks.py --out "$OUT" --only "${ONLY:-env,sdpa,pam,infer,train,eval}"

[[ -n "${SKIP_CLI:-}" ]] && exit 0
echo "== torchrun DDP training on CUDA"
start=$SECONDS
timeout "${DDP_TIMEOUT:-150}" torchrun --standalone --nproc_per_node=1 -m danet_cli train synthetic \
  --device cuda --iters "${DDP_ITERS:-400}" --val-every 200 --project "$runs" --name ddp
echo "train exit code $? after $((SECONDS - start)) s"
cp "$runs/ddp/train.log" "$OUT/ddp_train.log" 2>/dev/null
cp "$runs/ddp/metrics.jsonl" "$OUT/ddp_metrics.jsonl" 2>/dev/null
python3 -m danet_cli evaluate "$runs/ddp" --device cuda --flip --multi-scale --json "$OUT/eval.json"
echo "evaluate exit code $?"
image=$(ls "$HOME"/.cache/danet/data/synthetic/*/images/val/*.png 2>/dev/null | head -1)
[[ -n "$image" ]] && python3 -m danet_cli predict "$image" --checkpoint "$runs/ddp" --device cuda \
  -o "$OUT/predicted.png" && echo "predict ok"
