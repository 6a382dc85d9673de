"""Model packs: face detectors, embedders, their weights and downloads."""
