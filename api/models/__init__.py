"""Pydantic request and response models of the API, each with an OpenAPI example."""
