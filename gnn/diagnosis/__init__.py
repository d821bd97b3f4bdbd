"""Differential diagnosis over DDXPlus findings: graph baseline, attention model, `Diagnoser` service.

Import `gnn.diagnosis.service.Diagnoser` for the API (it loads torch); this package itself stays light.
"""
