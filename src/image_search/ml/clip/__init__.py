"""CLIP (Radford et al. 2021, "Learning Transferable Visual Models From Natural Language
Supervision") for text and similar-image search: the BPE tokenizer, the ONNX image and text
encoders, and the model registry with pinned weights."""
