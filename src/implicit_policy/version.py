"""The package version, in its own module so that every layer may read it."""

__version__ = "0.4.0"
