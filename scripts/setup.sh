#!/usr/bin/env bash
# Create .venv (once) and install danet with its test, ONNX and docs extras (the docs site build is tested).
# torch is pinned to 2.13.0 here only: that CPU build is what this project's machines carry on disk.
# The package itself accepts any torch >= 2.4; on your own machine install the build you want first.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
. .venv/bin/activate
python -m pip install --quiet --disable-pip-version-check "torch==${DANET_TORCH_VERSION:-2.13.0}"
python -m pip install --quiet --disable-pip-version-check -e ".[dev,onnx,docs]"
