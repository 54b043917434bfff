"""nbmake runs the notebooks in fast mode: short trainings that check they work.

The kernels nbmake starts inherit this process's environment, so setting variables
here, at collection, reaches every notebook. ``EXPLORER_FAST=0 pytest notebooks``
runs them in full mode instead.

One OpenMP thread per kernel: the notebooks' networks are small, and while other jobs
loaded the 2 cores, a second spinning thread made fast-mode notebook 02 take 296 s
instead of 44 s. In a whole-suite run this process has loaded torch's OpenMP runtime
while collecting tests/ (the runtime reads the variable when it loads), so only the
kernels see the change.
"""

import os

os.environ.setdefault("EXPLORER_FAST", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
