"""Faces domain: detections, quality, embeddings storage, clustering."""
