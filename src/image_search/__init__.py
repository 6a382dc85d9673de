"""image-search: a self-hosted photo and video library that finds the people in it."""

__version__ = "0.1.0"
