"""A character tokenizer that needs no download: 64 pieces, LLaMA's special ids (unk 0, bos 1, eos 2, pad -1)."""

from __future__ import annotations

import json
from pathlib import Path

PIECES = ["<unk>", "<s>", "</s>", *" abcdefghijklmnopqrstuvwxyz.,'?!-0123456789:;()ABCDEFGHIJKLMN"]
assert len(PIECES) == 64


class CharTokenizer:
    bos_id, eos_id, pad_id, unk_id = 1, 2, -1, 0

    def __init__(self, pieces: list[str] | None = None) -> None:
        self.pieces = pieces or PIECES
        self.index = {p: i for i, p in enumerate(self.pieces)}

    @property
    def n_words(self) -> int:
        return len(self.pieces)

    def encode(self, s: str, bos: bool = True, eos: bool = False) -> list[int]:
        ids = [self.index.get(c, self.unk_id) for c in s]
        return ([self.bos_id] if bos else []) + ids + ([self.eos_id] if eos else [])

    def decode(self, ids: list[int]) -> str:
        return "".join(self.pieces[i] if 2 < i < len(self.pieces) else "" for i in ids)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps({"kind": "ddoctor-char", "pieces": self.pieces}))

    @classmethod
    def load(cls, path: Path) -> CharTokenizer:
        data = json.loads(path.read_text())
        return cls(data["pieces"])
