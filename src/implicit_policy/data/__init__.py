"""Demonstrations: the format (episodes of observations and actions, windows inside episodes, digests) and
the sources it is read from or collected by."""

from implicit_policy.data.demonstrations import DemonstrationError, Demonstrations, observation_windows
from implicit_policy.data.sources import load_demonstrations

__all__ = ["DemonstrationError", "Demonstrations", "load_demonstrations", "observation_windows"]
