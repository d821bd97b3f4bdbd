"""MedKG models: graph neural networks, attention models and encoders (PyTorch, PyG)."""
