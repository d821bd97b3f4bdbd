"""MedKG HTTP API (FastAPI) and the `medkg` command line."""
