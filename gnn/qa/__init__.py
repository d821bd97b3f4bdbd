"""Medical question answering from the graph: intent classifier, entity linker, query catalogue, runtime."""
