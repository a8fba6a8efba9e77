"""Lightning callbacks; they talk to modules only through the sampling protocol."""

from gan_lab.callbacks.checkpoint import IterationCheckpoint
from gan_lab.callbacks.evaluation import Evaluation, Evaluator
from gan_lab.callbacks.health import TrainingHealth
from gan_lab.callbacks.interrupt import GracefulStop
from gan_lab.callbacks.progress import IterationProgress
from gan_lab.callbacks.samples import SampleGrid
from gan_lab.callbacks.schedule import EveryIterations
from gan_lab.callbacks.speed import SpeedUp

__all__ = ["Evaluation", "Evaluator", "EveryIterations", "GracefulStop", "IterationCheckpoint",
           "IterationProgress", "SampleGrid", "SpeedUp",
           "TrainingHealth"]
