"""Source adapters: one module per source; each turns raw rows into nodes and edges with provenance."""
