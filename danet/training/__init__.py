"""Training: the loop (`engine.train`), losses, optimiser and poly schedule, data order, RNG state."""

from danet.training.engine import TrainResult, train

__all__ = ["TrainResult", "train"]
