"""Training: the loop (`engine.train`), losses, optimiser and poly schedule, data order, RNG state.

`danet.train` (`danet.training.api.train`) is the entry point for scripts and notebooks.
"""

from danet.training.engine import TrainResult, train

__all__ = ["TrainResult", "train"]
