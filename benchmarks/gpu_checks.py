"""The CUDA checks of issue 7, as one script for a lent GPU machine (each section timed and guarded).

    python benchmarks/gpu_checks.py --out DIR            # on a CUDA machine, about 2 minutes on an H100
    python benchmarks/gpu_checks.py --out DIR --smoke    # tiny sizes on the CPU: checks the script itself

Sections (results go to DIR/gpu_checks.json after each one, so a cut-off run still reports):
  env        torch, GPU, cuDNN, TF32 switches
  sdpa       which scaled_dot_product_attention kernel the PAM's SDPA path runs (forward and backward,
             fp32 and bf16; `efficient` takes it in half precision): each kernel tried alone, and the
             CUDA kernels a profiler sees by default
  pam        every PAM implementation on 1x512x128x256 and 1x512x64x64: time and peak memory
  infer      danet_resnet101 (multi-grid) whole image 1x3x1024x2048: fp32 / bf16 / bf16 + channels-last,
             efficient vs naive PAM: latency and peak memory
  train      a training step (three losses, SGD) of danet_resnet101 at 8x768x768: fp32 vs bf16 AMP vs
             bf16 + channels-last, and the PAM implementations in fp32 (batch 4 if 8 runs out of memory)
  eval       multi-scale + flip sliding-window evaluation of a 1024x2048 image: batched vs one by one
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _targets_model import scene  # noqa: E402

from danet.benchmark import BenchmarkSettings  # noqa: E402
from danet.benchmark.measure import measure  # noqa: E402

KEEP = ("latency_ms", "min_ms", "images_per_s", "peak_mem_mb", "peak_mem_added_mb", "gflops", "gflops_per_s")


def env(args: argparse.Namespace) -> dict[str, Any]:
    info: dict[str, Any] = {"torch": torch.__version__, "cuda": torch.version.cuda}
    info["cudnn"] = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    info["cudnn_allow_tf32"] = torch.backends.cudnn.allow_tf32
    info["matmul_allow_tf32"] = torch.backends.cuda.matmul.allow_tf32
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        info.update(gpu=props.name, memory_gib=props.total_memory / 2**30, sms=props.multi_processor_count)
        info["bf16"] = torch.cuda.is_bf16_supported()
    return info


def sdpa(args: argparse.Namespace) -> dict[str, Any]:
    """Try each SDPA kernel alone on the PAM's shapes, then profile the default choice."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    from danet.models import PositionAttention

    device = torch.device(args.device)
    h, w = (8, 8) if args.smoke else (128, 256)
    module = PositionAttention(512, implementation="sdpa").to(device)
    with torch.no_grad():
        module.gamma.fill_(0.5)
    result: dict[str, Any] = {"shape": [1, 512, h, w], "kernels_alone": {}, "default": {}}
    backends = [SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH]
    backends += [b for b in [getattr(SDPBackend, "CUDNN_ATTENTION", None)] if b is not None]
    for dtype_name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        for backward in (False, True):
            key = f"{dtype_name} {'forward+backward' if backward else 'forward'}"
            result["kernels_alone"][key] = {
                b.name: _try_kernel(module, device, (h, w), dtype, backward, b, sdpa_kernel) for b in backends
            }
            result["default"][key] = _profiled_kernels(module, device, (h, w), dtype, backward)
    return result


def _pam_step(module: Any, device: torch.device, size: tuple[int, int], dtype: torch.dtype, backward: bool):
    x = torch.randn(1, 512, *size, device=device, requires_grad=backward)
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=dtype == torch.bfloat16):
        out = module(x)
    if backward:
        out.float().sum().backward()
    return out


def _try_kernel(module, device, size, dtype, backward, backend, sdpa_kernel) -> str:
    try:
        with sdpa_kernel([backend]):
            _pam_step(module, device, size, dtype, backward)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return "runs"
    except Exception as error:  # the kernel refuses these inputs: say why
        return f"refused: {str(error).splitlines()[0][:160]}"


def _profiled_kernels(module, device, size, dtype, backward) -> list[str]:
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    _pam_step(module, device, size, dtype, backward)  # warm up
    with profile(activities=activities) as prof:
        _pam_step(module, device, size, dtype, backward)
        if device.type == "cuda":
            torch.cuda.synchronize()
    words = ("attention", "flash", "fmha", "efficient", "cudnn", "sdpa", "mha")
    names = {e.key for e in prof.key_averages() if any(word in e.key.lower() for word in words)}
    return sorted(name[:140] for name in names)


def pam(args: argparse.Namespace) -> dict[str, Any]:
    """Every PAM implementation at full resolution (128x256) and at 64x64, fp32 and bf16."""
    out = {}
    for size in [(8, 8)] if args.smoke else [(128, 256), (64, 64)]:
        for precision in ("fp32", "bf16"):
            for impl in ("efficient", "chunked", "sdpa", "naive"):
                settings = BenchmarkSettings(
                    pam_only=True, size=size, device=args.device, precision=precision, pam=impl,
                    warmup=3, repeats=10, conv_probe=False,
                )  # fmt: skip
                out[f"{size[0]}x{size[1]} {precision} {impl}"] = _measure(settings)
    return out


def infer(args: argparse.Namespace) -> dict[str, Any]:
    model, size = ("danet_resnet18", (64, 128)) if args.smoke else ("danet_resnet101", (1024, 2048))
    base = BenchmarkSettings(
        model=model,
        multi_grid=not args.smoke,
        size=size,
        device=args.device,
        channels_last=False,  # NCHW unless a variant says otherwise
        warmup=2,
        repeats=5,
        conv_probe=False,
    )
    variants = {
        "fp32 efficient": base,
        "fp32 naive": base.with_override("pam=naive"),
        "fp32 sdpa": base.with_override("pam=sdpa"),
        "bf16 efficient": base.with_override("precision=bf16"),
        "bf16 channels-last efficient": base.with_override("precision=bf16").with_override(
            "channels_last=true"
        ),
    }
    return {name: _measure(settings) for name, settings in variants.items()}


def train(args: argparse.Namespace) -> dict[str, Any]:
    model, size = ("danet_resnet18", (64, 64)) if args.smoke else ("danet_resnet101", (768, 768))
    out: dict[str, Any] = {}
    for batch in (2,) if args.smoke else (8, 4):
        base = BenchmarkSettings(
            model=model, multi_grid=not args.smoke, size=size, batch=batch, device=args.device, train=True,
            warmup=3, repeats=8, conv_probe=False,
        )  # fmt: skip
        variants = {
            "fp32": base,
            "bf16": base.with_override("precision=bf16"),
            "bf16 channels-last": base.with_override("precision=bf16").with_override("channels_last=true"),
            "fp32 channels-last": base.with_override("channels_last=true"),
            "fp32 naive PAM": base.with_override("pam=naive"),
            "fp32 chunked PAM": base.with_override("pam=chunked"),
        }
        try:
            out[f"batch {batch}"] = {name: _measure(settings) for name, settings in variants.items()}
            return out
        except torch.cuda.OutOfMemoryError as error:
            out[f"batch {batch}"] = {"error": f"out of memory: {str(error).splitlines()[0][:200]}"}
            torch.cuda.empty_cache()
    return out


def evaluation(args: argparse.Namespace) -> dict[str, Any]:
    """One-by-one vs batched (8 and 16 crops per forward), interleaved over two rounds per precision."""
    from danet.backends.torch_backend import TorchBackend
    from danet.benchmark.one_by_one import count_forwards
    from danet.inference import MULTI_SCALES, InferenceConfig
    from danet.models import create_model

    height, width = (64, 128) if args.smoke else (1024, 2048)
    name = "danet_resnet18" if args.smoke else "danet_resnet101"
    crop, stride = round(768 * height / 1024), round(512 * height / 1024)
    image = scene(height, width).to(args.device)

    def config(batch: int) -> InferenceConfig:
        return InferenceConfig(
            mode="slide", crop_size=(crop, crop), stride=(stride, stride), scales=MULTI_SCALES,
            flip=True, batch_size=batch, align_corners=True,
        )  # fmt: skip

    out: dict[str, Any] = {"image": [height, width], "crop": crop, "stride": stride, "model": name}
    out["forward_passes_one_by_one"] = count_forwards(image, config(1))
    for precision in ("fp32", "bf16"):
        torch.manual_seed(0)
        model = create_model(name, num_classes=19, multi_grid=not args.smoke)
        backend = TorchBackend(model, device=args.device, precision=precision)
        backend.forward(image[:, :, :crop, :crop])  # warm up (cuDNN, allocator)
        out[precision] = _time_evaluations(image, backend.forward, config, args.device)
        del backend, model
        _sync(args.device)
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    return out


def _time_evaluations(image: torch.Tensor, forward: Any, config: Any, device: str) -> dict[str, Any]:
    from danet.benchmark.one_by_one import one_by_one_probs, time_interleaved
    from danet.inference import predict_probs

    _sync(device)
    times, masks = time_interleaved(
        {
            "one_by_one": lambda: one_by_one_probs(image, forward, config(1)),
            "batched 8": lambda: predict_probs(image, forward, config(8)),
            "batched 16": lambda: predict_probs(image, forward, config(16)),
        },
        rounds=2,
    )
    one = min(times["one_by_one"])
    return {
        "times_s": times,
        "speedup_min_time": {key: one / min(t) for key, t in times.items()},
        "agreement_with_one_by_one": {
            key: (m == masks["one_by_one"]).float().mean().item() for key, m in masks.items()
        },
    }


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _measure(settings: BenchmarkSettings) -> dict[str, Any]:
    record = measure(settings)
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return {key: record.get(key) for key in KEEP}


SECTIONS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "env": env, "sdpa": sdpa, "pam": pam, "infer": infer, "train": train, "eval": evaluation,
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--only", default=",".join(SECTIONS))
    parser.add_argument("--smoke", action="store_true", help="tiny sizes on the CPU (tests this script)")
    args = parser.parse_args()
    args.device = "cpu" if args.smoke else "cuda"
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    for name in args.only.split(","):
        start = time.perf_counter()
        print(f"== {name}", flush=True)
        try:
            results[name] = SECTIONS[name](args)
        except Exception as error:  # report and go on: later sections still measure
            results[name] = {"error": f"{type(error).__name__}: {error}", "traceback": traceback.format_exc()}
        results[name + "_seconds"] = round(time.perf_counter() - start, 1)
        print(json.dumps(results[name], indent=1, default=str)[:6000], flush=True)
        (args.out / "gpu_checks.json").write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
