"""Front-ends: thin views over :mod:`explorer.state` objects (Panel, notebooks)."""
