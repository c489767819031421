"""What one benchmark run measures: a frozen, JSON-serialisable description of the workload."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from danet.errors import ConfigError

PAM_CHOICES = ("efficient", "chunked", "sdpa", "naive")
PRECISION_CHOICES = ("fp32", "bf16", "fp16")
ORT_OPTIMIZATIONS = ("disable", "basic", "extended", "all")
# Keys `--compare KEY=VALUE` accepts, with the parser of each value.
_BOOL_WORDS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False}


@dataclass(frozen=True)
class BenchmarkSettings:
    """One workload: a model (or a checkpoint through a backend, or PAM alone) at a size and precision.

    With ``pam_only`` the workload is a single `PositionAttention` on a (batch, channels, H, W)
    feature map and ``size`` is the feature-map size (128 x 256 is Cityscapes 1024 x 2048 at
    output stride 8).
    """

    model: str = "danet_resnet50"
    size: tuple[int, int] = (512, 1024)
    batch: int = 1
    device: str = "auto"
    precision: str = "fp32"
    channels_last: bool | None = None  # None: where it is faster (`danet.devices.default_channels_last`)
    compile: bool = False
    pam: str = "efficient"
    train: bool = False
    warmup: int = 2
    repeats: int = 5
    checkpoint: str | None = None
    backend: str | None = None
    pam_only: bool = False
    channels: int = 512
    num_classes: int = 19
    multi_grid: bool = False
    output_stride: int = 8
    conv_probe: bool = True
    threads: int = 0  # CPU threads for torch; 0 keeps torch's default
    # ONNX Runtime session (--checkpoint FILE.onnx): see `danet.backends.onnx_session.SessionSettings`
    ort_optimization: str = "all"
    ort_spinning: bool = True
    ort_arena: bool = True
    profile: bool = False  # ONNX Runtime's per-node profile: the top operators in the record

    def __post_init__(self) -> None:
        if len(self.size) != 2 or min(self.size) < 1:
            raise ConfigError(f"--size needs two positive numbers (H W), got {self.size}")
        if self.batch < 1:
            raise ConfigError(f"--batch must be at least 1, got {self.batch}")
        if self.warmup < 0 or self.repeats < 1:
            raise ConfigError("--warmup must be >= 0 and --repeats >= 1")
        if self.pam not in PAM_CHOICES:
            raise ConfigError(f"unknown --pam {self.pam!r}; use one of {', '.join(PAM_CHOICES)}")
        if self.precision not in PRECISION_CHOICES:
            raise ConfigError(
                f"unknown --precision {self.precision!r}; use one of {', '.join(PRECISION_CHOICES)}"
            )
        if self.checkpoint and (self.train or self.pam_only):
            raise ConfigError("--checkpoint measures inference of a model file; drop --train/--pam-only")
        if self.profile and not self.checkpoint:
            raise ConfigError("--profile reads ONNX Runtime's per-node profile: add --checkpoint FILE.onnx")
        if self.backend and not self.checkpoint:
            raise ConfigError("--backend needs --checkpoint PATH (the model file it runs)")
        if self.threads < 0:
            raise ConfigError(f"--threads must be 0 (torch's default) or more, got {self.threads}")
        if self.ort_optimization not in ORT_OPTIMIZATIONS:
            raise ConfigError(
                f"unknown --ort-optimization {self.ort_optimization!r}; "
                f"use one of {', '.join(ORT_OPTIMIZATIONS)}"
            )
        if self.pam_only and self.channels < 8:
            raise ConfigError(f"--channels must be at least 8 for --pam-only, got {self.channels}")

    @property
    def workload(self) -> str:
        """A short human name of what is measured."""
        if self.pam_only:
            return f"PositionAttention C={self.channels}"
        if self.checkpoint:
            return f"{self.checkpoint} ({self.backend or 'auto'} backend)"
        return self.model

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["size"] = list(self.size)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BenchmarkSettings:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if "size" in values:
            values["size"] = tuple(int(v) for v in values["size"])
        return cls(**values)

    def with_override(self, assignment: str) -> BenchmarkSettings:
        """A copy with one setting changed by ``KEY=VALUE`` (``pam=naive``, ``precision=bf16``)."""
        key, sep, text = assignment.partition("=")
        key = key.strip().replace("-", "_")
        names = {f.name: f for f in fields(self)}
        if not sep or key not in names:
            valid = ", ".join(sorted(names))
            raise ConfigError(f"--compare needs KEY=VALUE with KEY one of: {valid}; got {assignment!r}")
        return replace(self, **{key: _parse_value(key, getattr(self, key), text.strip())})


def _parse_value(key: str, current: Any, text: str) -> Any:
    if key == "channels_last" and text.lower() == "auto":
        return None
    if key == "size":
        parts = text.replace("x", " ").replace(",", " ").split()
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            raise ConfigError(f"size must look like 512x1024, got {text!r}")
        return int(parts[0]), int(parts[1])
    if isinstance(current, bool) or key == "channels_last":
        if text.lower() not in _BOOL_WORDS:
            raise ConfigError(f"{key} takes true or false, got {text!r}")
        return _BOOL_WORDS[text.lower()]
    if isinstance(current, int):
        try:
            return int(text)
        except ValueError:
            raise ConfigError(f"{key} takes a whole number, got {text!r}") from None
    return text or None
