"""MedKG knowledge graph: schema, source adapters, loader, Neo4j server management, export."""
