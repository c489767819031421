"""The options that fully describe a model; saved inside every checkpoint."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from danet.errors import ConfigError


@dataclass(frozen=True)
class ModelConfig:
    name: str
    num_classes: int
    stem: str = "7x7"
    output_stride: int = 8
    multi_grid: bool = False
    aux: bool = False
    align_corners: bool = True
    dropout: float = 0.1
    pam_implementation: str = "efficient"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def options(self) -> dict[str, Any]:
        """The builder options (everything but name and classes) that differ from their defaults."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name not in ("name", "num_classes") and getattr(self, f.name) != f.default
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown model option(s): {', '.join(unknown)}")
        return cls(**data)
