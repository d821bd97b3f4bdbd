"""One shape for every model family: a registry by name, one artefact store, results files, calibration.

A family is one module defining a `ModelFamily` subclass plus one line in `registry.FAMILIES`. The CLI
(`medkg train|evaluate|predict MODEL`, `medkg models`) and the meta-tests read the registry.
"""
