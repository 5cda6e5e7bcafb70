"""Imported once by the worker forkserver (``executor.WORKER_PRELOAD``) before it forks any
worker: it loads the indicator loops' machine code from numba's on-disk cache, so that no
job pays for it (about a second per job otherwise, most of a small job's time). Only the
serial loops run here: nothing started before a fork may leave threads behind (OpenMP
and numba's parallel layer start in the workers, under their thread limits)."""

from ssots import features
from ssots.data import demo

features.dimensions(demo(days=120))
