"""MarianTokenizer's encode and decode, as Hugging Face transformers v4.46
does them (models/marian/tokenization_marian.py), for the reference side of
the parity tests and for the translator evaluation.

encode(text) = MarianTokenizer(text)["input_ids"]:
  * a leading language code `>>xx<<` is kept as one token, and every `>>..<<`
    span is removed from the text before SentencePiece (remove_language_code);
  * the source SentencePiece model splits the text into pieces (no sampling);
  * each piece is looked up in vocab.json, a piece that is not there becomes
    <unk> (v4.46's `encoder.get(piece, unk)`; transformers after v4.50 first
    tries the piece's SentencePiece id, which differs only for pieces missing
    from vocab.json);
  * with truncation (MarianTokenizer(text, truncation=True)) only the first
    model_max_length - 1 ids are kept;
  * </s> is appended.
Not reproduced: HF first splits the text on literal special-token strings
("</s>", "<unk>", "<pad>" become those tokens); texts containing them differ.
decode(ids) = MarianTokenizer.decode(ids, skip_special_tokens=True) with
clean_up_tokenization_spaces off: ids of </s>, <unk> and <pad> (looked up in
the SOURCE vocabulary, as HF does) are dropped, the rest become pieces through
the target vocabulary (target_vocab.json when separate_vocabs, else
vocab.json), the target SentencePiece model joins them, "▁" becomes a space
and the result is stripped.
"""
import json
import os
import re

import sentencepiece as spm

LANGUAGE_CODE = re.compile(">>.+<<")


class MarianTokenizer:
    """The tokenizer files of a Marian model directory."""

    def __init__(self, model_dir):
        conf = {}
        path = os.path.join(model_dir, "tokenizer_config.json")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                conf = json.load(f)
        self.model_max_length = conf.get("model_max_length", 512)
        with open(os.path.join(model_dir, "vocab.json"), encoding="utf-8") as f:
            self.source_vocab = json.load(f)
        target_file = "target_vocab.json" if conf.get("separate_vocabs", False) else "vocab.json"
        with open(os.path.join(model_dir, target_file), encoding="utf-8") as f:
            self.target_pieces = {i: p for p, i in json.load(f).items()}
        self.unk_id = self.source_vocab[conf.get("unk_token", "<unk>")]
        self.eos_id = self.source_vocab[conf.get("eos_token", "</s>")]
        self.pad_id = self.source_vocab[conf.get("pad_token", "<pad>")]
        self.source_spm = spm.SentencePieceProcessor(model_file=os.path.join(model_dir, "source.spm"))
        self.target_spm = spm.SentencePieceProcessor(model_file=os.path.join(model_dir, "target.spm"))

    def pieces(self, text):
        """Source text -> the pieces MarianTokenizer._tokenize gives."""
        match = LANGUAGE_CODE.match(text)
        code = [match.group(0)] if match else []
        return code + self.source_spm.encode(LANGUAGE_CODE.sub("", text), out_type=str)

    def encode(self, text, truncation=False):
        """Source text -> input ids ending in </s>."""
        ids = [self.source_vocab.get(p, self.unk_id) for p in self.pieces(text)]
        if truncation:
            ids = ids[: self.model_max_length - 1]
        return ids + [self.eos_id]

    def decode(self, ids):
        """Generated target ids -> text, special ids skipped."""
        special = {self.eos_id, self.unk_id, self.pad_id}
        pieces = [self.target_pieces.get(i, "<unk>") for i in ids if i not in special]
        return self.target_spm.decode_pieces(pieces).replace("\u2581", " ").strip()
