"""Vector search over normalised embeddings."""
