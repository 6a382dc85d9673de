"""Library domain: assets, scanning, hashing, metadata, media decoding and thumbnails."""
