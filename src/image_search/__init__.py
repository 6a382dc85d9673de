"""image-search: a self-hosted photo and video library that finds the people in it."""

import os

# OpenCV 5 prints a warning per model load ("Targets are not supported by the new graph
# engine"); keep its log to errors unless the user asked for more. Must precede any cv2 import.
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")

__version__ = "0.1.0"
