"""Prediction on files: the `Predictor` (a model file or model -> masks), the sources it reads (images,
folders, globs, videos), the writers of each output format and the run loop of `danet predict`.

The Python call of the command is `danet.predict` (in `danet.api`); this package is named `prediction`
so that `danet.predict` stays that function. Importing the package loads nothing (sources and media
need no torch): import its modules.
"""
