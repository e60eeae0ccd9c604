"""scoutcrew: a local research crew on your own models."""

__version__ = "0.1.0"
