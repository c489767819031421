"""Typed errors: every mistake a user can make surfaces as a `DanetError` subclass.

The CLI prints `str(error)` as one red line and exits with code 1; nothing here imports torch.
"""

from __future__ import annotations


class DanetError(Exception):
    """Base of every error danet raises for user input, files, devices or the network."""


class ConfigError(DanetError):
    """An option or configuration value is invalid."""


class UnknownNameError(ConfigError):
    """A model, dataset, backend or weight name is not registered."""

    def __init__(self, kind: str, name: str, valid: list[str]) -> None:
        self.kind, self.name, self.valid = kind, name, list(valid)
        super().__init__(f"unknown {kind} {name!r}; valid names: {', '.join(self.valid)}")


class DeviceError(DanetError):
    """A requested device or precision is not available on this machine."""


class DatasetError(DanetError):
    """A dataset folder, image or mask is missing, unreadable or inconsistent."""


class CheckpointError(DanetError):
    """A checkpoint cannot be read, is unsafe, or does not fit the model."""


class DownloadError(DanetError):
    """A download failed: network, HTTP status, checksum or archive problem."""


class ExportError(DanetError):
    """A model could not be exported or the exported model does not match."""


class BackendError(DanetError):
    """An inference backend is unavailable or cannot run a model file."""


class OutputExistsError(DanetError):
    """An output file exists and overwriting was not requested."""


class TrainingError(DanetError):
    """Training cannot continue (for example a non-finite loss)."""
