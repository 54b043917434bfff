"""nbmake runs the notebooks in fast mode: short trainings that check they work.

The kernels nbmake starts inherit this process's environment, so setting the variable
here, at collection, reaches every notebook. ``EXPLORER_FAST=0 pytest notebooks``
runs them in full mode instead.
"""

import os

os.environ.setdefault("EXPLORER_FAST", "1")
