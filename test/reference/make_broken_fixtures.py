#!/usr/bin/python3
"""Damaged copies of a small fixture, for the bad-input tests.

    make_broken_fixtures.py --out DIR [--bert bert-odd] [--marian marian-odd]

Each broken-* directory is a copy of a working model with one defect, named
after it; the tests expect loading it to fail with a clear error, never a
crash:
  broken-no-weights      model.safetensors missing
  broken-truncated       model.safetensors cut in half
  broken-header-length   header length larger than the file
  broken-header-json     header bytes overwritten with garbage
  broken-missing-tensor  one tensor dropped from the file
  broken-shape           config.json intermediate_size off by 6
  broken-dtype           one tensor's dtype declared I16
  broken-arch            model_type "gpt2"
  broken-config          config.json not JSON
  broken-tokenizer       tokenizer.json not JSON
  broken-hidden-size     config.json hidden_size 65535: 8 GiB of embeddings
                         that the file does not hold (must fail before any
                         memory is sized from it)
  broken-shape-overflow  one tensor's shape [2^32, 2^32]: the element count
                         wraps 64 bits to 0, matching its 0-byte range
  broken-spm             (Marian) source.spm truncated
  broken-bad-words-nan   (Marian) generation_config.json bad_words_ids [[NaN]]
                         (as Python's json.dump writes it)
  broken-max-length      (Marian) tokenizer_config.json model_max_length -1e10
"""
import argparse
import json
import os
import shutil
import struct

from safetensors_io import read_safetensors, write_safetensors


def copy(src, dst):
    if os.path.exists(dst):
        shutil.rmtree(dst)
    shutil.copytree(src, dst)
    return dst


def header_of(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return n, json.loads(f.read(n)), f.read()


def write_raw(path, header, data):
    raw = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        f.write(data)


def edit_json(path, change):
    """Rewrite the JSON file at path after change(its object)."""
    with open(path) as f:
        obj = json.load(f)
    change(obj)
    with open(path, "w") as f:
        json.dump(obj, f)


def edit_header(path, change):
    """Rewrite a safetensors file after change(its header dict)."""
    _, header, data = header_of(path)
    change(header)
    write_raw(path, header, data)


def first_tensor(header, suffix):
    return sorted(k for k in header if k.endswith(suffix))[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--bert", default="bert-odd")
    ap.add_argument("--marian", default="marian-odd")
    args = ap.parse_args()
    bert = os.path.join(args.out, args.bert)
    out = lambda name: os.path.join(args.out, name)

    os.remove(os.path.join(copy(bert, out("broken-no-weights")), "model.safetensors"))

    d = copy(bert, out("broken-truncated"))
    st = os.path.join(d, "model.safetensors")
    size = os.path.getsize(st)
    with open(st, "r+b") as f:
        f.truncate(size // 2)

    d = copy(bert, out("broken-header-length"))
    with open(os.path.join(d, "model.safetensors"), "r+b") as f:
        f.write(struct.pack("<Q", 1 << 40))

    d = copy(bert, out("broken-header-json"))
    with open(os.path.join(d, "model.safetensors"), "r+b") as f:
        f.seek(8 + 20)
        f.write(b"\x00\xff{[\"garbage")

    d = copy(bert, out("broken-missing-tensor"))
    st = os.path.join(d, "model.safetensors")
    tensors = read_safetensors(st)
    dropped = sorted(k for k in tensors if "encoder.layer.1.output.dense.weight" in k)[0]
    del tensors[dropped]
    write_safetensors(st, tensors, dtype="F16")

    d = copy(bert, out("broken-shape"))
    edit_json(os.path.join(d, "config.json"), lambda c: c.update(intermediate_size=c["intermediate_size"] + 6))

    d = copy(bert, out("broken-dtype"))
    edit_header(os.path.join(d, "model.safetensors"),
                lambda h: h[first_tensor(h, "attention.output.dense.weight")].update(dtype="I16"))

    d = copy(bert, out("broken-arch"))
    edit_json(os.path.join(d, "config.json"), lambda c: c.update(model_type="gpt2"))

    d = copy(bert, out("broken-config"))
    with open(os.path.join(d, "config.json"), "w") as f:
        f.write('{"model_type": "bert", "hidden_size": 12')

    d = copy(bert, out("broken-tokenizer"))
    with open(os.path.join(d, "tokenizer.json"), "w") as f:
        f.write('{"model": {"type": "WordPiece", "vocab": [1, 2')

    d = copy(bert, out("broken-hidden-size"))
    edit_json(os.path.join(d, "config.json"), lambda c: c.update(hidden_size=65535))

    def overflow(header):
        tensor = header[first_tensor(header, "attention.output.dense.weight")]
        begin = tensor["data_offsets"][0]
        tensor.update(shape=[1 << 32, 1 << 32], data_offsets=[begin, begin])

    d = copy(bert, out("broken-shape-overflow"))
    edit_header(os.path.join(d, "model.safetensors"), overflow)

    marian = os.path.join(args.out, args.marian)
    if os.path.isdir(marian):
        d = copy(marian, out("broken-spm"))
        spm = os.path.join(d, "source.spm")
        size = os.path.getsize(spm)
        with open(spm, "r+b") as f:
            f.truncate(size // 3)

        d = copy(marian, out("broken-bad-words-nan"))
        edit_json(os.path.join(d, "generation_config.json"), lambda g: g.update(bad_words_ids=[[float("nan")]]))

        d = copy(marian, out("broken-max-length"))
        edit_json(os.path.join(d, "tokenizer_config.json"), lambda t: t.update(model_max_length=-1e10))
    print(f"wrote broken fixtures into {args.out}")


if __name__ == "__main__":
    main()
