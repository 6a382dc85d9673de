"""CLIP's byte-level BPE tokenizer, built with Hugging Face ``tokenizers`` from CLIP's own
vocabulary file ``bpe_simple_vocab_16e6.txt.gz`` (openai/CLIP, MIT).

The vocabulary layout follows openai/CLIP ``clip/simple_tokenizer.py``: the 256 byte symbols
(``bytes_to_unicode`` order), the same with the end-of-word marker ``</w>``, one symbol per merge
(the first 49,152 - 256 - 2 merges of the file), then ``<|startoftext|>`` (49406) and
``<|endoftext|>`` (49407). Normalisation and pre-tokenisation follow the same file (ftfy +
HTML unescape, whitespace collapsed, lower case, CLIP's word regex), as transformers'
``CLIPConverter`` does for its fast tokenizer. Sequences are ``[SOT, tokens..., EOT]``,
truncated to the context length with EOT kept last, and padded with 0 (as openai/CLIP and
open_clip do).
"""

from __future__ import annotations

import gzip
import html
from pathlib import Path

import ftfy
import numpy as np
from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers

from image_search.errors import InvalidInputError, ModelError

START_OF_TEXT = "<|startoftext|>"
END_OF_TEXT = "<|endoftext|>"
MERGE_COUNT = 49152 - 256 - 2  # simple_tokenizer.py: merges[1 : 49152 - 256 - 2 + 1]
# CLIP's word pattern (simple_tokenizer.py), as written for tokenizers by CLIPConverter.
WORD_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2 / CLIP mapping of the 256 byte values to printable characters, in CLIP's order
    (printable Latin-1 bytes first keep their character; the rest get 256 + n)."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    codes = list(printable)
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return dict(zip(printable, (chr(c) for c in codes), strict=True))


class ClipTokenizer:
    """Text -> CLIP token ids.

    ``vocab_path``: CLIP's ``bpe_simple_vocab_16e6.txt.gz``. Raises ``ModelError`` naming the
    file when it cannot be read or is not a CLIP merges file.
    """

    def __init__(self, vocab_path: Path, context_length: int = 77) -> None:
        self.context_length = context_length
        try:
            with gzip.open(vocab_path, "rt", encoding="utf-8") as handle:
                lines = handle.read().split("\n")
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise ModelError(
                f"{vocab_path}: cannot read CLIP's BPE vocabulary ({exc}). Delete the file (it "
                f"is downloaded again) or copy bpe_simple_vocab_16e6.txt.gz from openai/CLIP "
                f"into IMAGE_SEARCH_MODELS_DIR."
            ) from exc
        merges = [tuple(line.split()) for line in lines[1 : MERGE_COUNT + 1]]
        if len(merges) != MERGE_COUNT or any(len(m) != 2 for m in merges):
            raise ModelError(
                f"{vocab_path}: not CLIP's BPE vocabulary (expected {MERGE_COUNT} merges of two "
                f"symbols). Replace it with bpe_simple_vocab_16e6.txt.gz from openai/CLIP."
            )
        symbols = list(bytes_to_unicode().values())
        vocab = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges]
        vocab += [START_OF_TEXT, END_OF_TEXT]
        ids = {token: index for index, token in enumerate(vocab)}
        tokenizer = Tokenizer(
            models.BPE(
                vocab=ids,
                merges=[(a, b) for a, b in merges],
                continuing_subword_prefix="",
                end_of_word_suffix="</w>",
                fuse_unk=False,
            )
        )
        tokenizer.normalizer = normalizers.Sequence(
            [normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()]
        )
        tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(Regex(WORD_PATTERN), behavior="removed", invert=True),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
            ]
        )
        self._tokenizer = tokenizer
        self.start_id = ids[START_OF_TEXT]
        self.end_id = ids[END_OF_TEXT]

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` without start/end markers (after CLIP's text cleaning)."""
        cleaned = html.unescape(html.unescape(ftfy.fix_text(text))).strip()
        return list(self._tokenizer.encode(cleaned, add_special_tokens=False).ids)

    def __call__(self, texts: list[str]) -> np.ndarray:
        """int64 (len(texts), context_length): ``[SOT, ids..., EOT, 0...]`` per text, truncated
        so EOT stays last. Raises ``InvalidInputError`` for an empty or blank text."""
        batch = np.zeros((len(texts), self.context_length), dtype=np.int64)
        for row, text in enumerate(texts):
            if not text or not text.strip():
                raise InvalidInputError("the search text is empty")
            ids = [self.start_id, *self.encode(text)][: self.context_length - 1]
            ids.append(self.end_id)
            batch[row, : len(ids)] = ids
        return batch
