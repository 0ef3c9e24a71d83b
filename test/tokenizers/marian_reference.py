#!/usr/bin/python3
"""Write the expected MarianTokenizer output for test/data/marian_corpus.txt,
which test/unit/test_marian_tokenizer.c compares against:

  test/data/marian_peer_ids.txt      per line, the source ids (</s> included)
                                     MarianTokenizer(line, truncation=True)
                                     gives with the opus-mt-en-mg files
  test/data/marian_peer_decoded.txt  per line, MarianTokenizer.decode(ids,
                                     skip_special_tokens=True) of those ids

The ids are computed twice, from two SentencePiece implementations, and must
agree on every line (the script fails otherwise):

  1. Debian's spm_encode --output_format=piece (the C++ library) over the
     texts with their language codes removed, each piece then looked up in
     vocab.json (missing -> <unk>) as MarianTokenizer's
     `encoder.get(piece, unk)`, the leading code as one piece, the first
     model_max_length - 1 = 511 kept, </s> appended;
  2. Python's sentencepiece (`encode(text, out_type=str)`) through
     test/reference/marian_tokenizer.py, the project's transformers-4.46
     MarianTokenizer reference.

The decoded text likewise: spm_decode --input_format=piece over the target
pieces of the ids (special ids dropped), "▁" -> space, str.strip(); and
marian_tokenizer.MarianTokenizer.decode (Python sentencepiece's
decode_pieces).

Usage: /usr/bin/python3 test/tokenizers/marian_reference.py [TOKENIZER_DIR]
  TOKENIZER_DIR defaults to test/data/tokenizers/opus-mt-en-mg.
Needs Debian's `sentencepiece` package (0.1.97 made the committed files).
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "test", "reference"))
import marian_tokenizer  # noqa: E402
from repo_data import DATA, MARIAN_TOKENIZER  # noqa: E402

TOKENIZER = sys.argv[1] if len(sys.argv) > 1 else MARIAN_TOKENIZER


def run_lines(args, lines):
    """Run a command with lines on stdin; its stdout's lines."""
    with tempfile.TemporaryFile() as f:
        f.write(b"".join(line.encode("utf-8") + b"\n" for line in lines))
        f.seek(0)
        out = subprocess.run(args, stdin=f, stdout=subprocess.PIPE, check=True).stdout
    lines = out.split(b"\n")
    assert lines[-1] == b"", "output does not end in a newline"
    return [line.decode("utf-8") for line in lines[:-1]]


def split_pieces(line):
    """spm_encode/--output_format=piece joins pieces with single spaces."""
    return line.split(" ") if line else []


def main():
    with open(os.path.join(DATA, "marian_corpus.txt"), "rb") as f:
        raw = f.read()
    assert raw.endswith(b"\n")
    texts = [line.decode("utf-8") for line in raw[:-1].split(b"\n")]
    tok = marian_tokenizer.MarianTokenizer(TOKENIZER)
    vocab = tok.source_vocab
    code_re = marian_tokenizer.LANGUAGE_CODE

    # 1. the C++ library through spm_encode / spm_decode
    codes = [[m.group(0)] if (m := code_re.match(t)) else [] for t in texts]
    rests = [code_re.sub("", t) for t in texts]
    cpp_pieces = [split_pieces(line) for line in run_lines(
        ["spm_encode", "--model=" + os.path.join(TOKENIZER, "source.spm"),
         "--output_format=piece"], rests)]
    assert len(cpp_pieces) == len(texts)
    cpp_ids = [[vocab.get(p, tok.unk_id) for p in c + p][: tok.model_max_length - 1] + [tok.eos_id]
               for c, p in zip(codes, cpp_pieces)]
    special = {tok.eos_id, tok.unk_id, tok.pad_id}
    target_pieces = [[tok.target_pieces[i] for i in ids if i not in special] for ids in cpp_ids]
    cpp_text = [line.replace("\u2581", " ").strip() for line in run_lines(
        ["spm_decode", "--model=" + os.path.join(TOKENIZER, "target.spm"),
         "--input_format=piece"], [" ".join(p) for p in target_pieces])]

    # 2. Python's sentencepiece through the reference MarianTokenizer
    py_ids = [tok.encode(t, truncation=True) for t in texts]
    py_text = [tok.decode(ids) for ids in py_ids]

    piece_diff = sum(tok.pieces(t) != c + p for t, c, p in zip(texts, codes, cpp_pieces))
    id_diff = sum(a != b for a, b in zip(cpp_ids, py_ids))
    text_diff = sum(a != b for a, b in zip(cpp_text, py_text))
    unknown = sum(any(i == 0 for i in tok.source_spm.encode(r)) for r in rests)
    truncated = sum(len(ids) == tok.model_max_length for ids in py_ids)
    print("%d lines: spm_encode and Python sentencepiece differ on %d (pieces), %d (ids); "
          "spm_decode and decode_pieces on %d" % (len(texts), piece_diff, id_diff, text_diff))
    print("%d lines hold a character source.spm does not know; %d are truncated to %d ids"
          % (unknown, truncated, tok.model_max_length))
    if piece_diff or id_diff or text_diff:
        sys.exit("the two SentencePiece implementations disagree: nothing written")

    with open(os.path.join(DATA, "marian_peer_ids.txt"), "w", encoding="utf-8") as f:
        for ids in py_ids:
            f.write(" ".join(map(str, ids)) + "\n")
    with open(os.path.join(DATA, "marian_peer_decoded.txt"), "w", encoding="utf-8",
              newline="") as f:
        for text in py_text:
            assert "\n" not in text
            f.write(text + "\n")
    print("wrote test/data/marian_peer_ids.txt and marian_peer_decoded.txt; made with: "
          + subprocess.run(["spm_encode", "--version"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT).stdout.decode().strip())


main()
