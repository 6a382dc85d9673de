"""The durable indexing pipeline and its worker pool."""
