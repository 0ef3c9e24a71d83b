#!/usr/bin/python3
"""Translate Multi30k's test_2016_flickr English with the PyTorch reference
(test/reference/marian.py + generate.py, Hugging Face generate() semantics),
detokenize with the model's target SentencePiece model, and score against the
German references with bench/bleu.py (sacreBLEU's default BLEU).

    /usr/bin/python3 models/recipes/eval_translator.py --model DIR [--beams N] [--limit K]
        [--out FILE] [--batch-size 16] [--threads 1] [--max-length L]

Generation options come from the model's generation_config.json (else
config.json), as generate() reads them; --beams and --max-length override
num_beams and max_length.  Sources are encoded as MarianTokenizer does
(truncated to model_max_length), translated in batches of similar length,
and decoded with special tokens skipped.  Prints the BLEU line and writes
the hypotheses, one per line in test-set order, to --out.
"""
import argparse
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "test", "reference"))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from bleu import corpus_bleu, format_score  # noqa: E402
from generate import generate, generation_options  # noqa: E402
from marian import load_checkpoint  # noqa: E402
from marian_tokenizer import MarianTokenizer  # noqa: E402
from repo_data import MULTI30K, read_gz_lines  # noqa: E402

TEST = os.path.join(MULTI30K, "test_2016_flickr")


def translate(model, tokenizer, opts, sentences, batch_size):
    """Sentences -> detokenized translations, batched by source length."""
    sources = [tokenizer.encode(s, truncation=True) for s in sentences]
    order = sorted(range(len(sources)), key=lambda i: len(sources[i]))
    out = [None] * len(sources)
    for start in range(0, len(order), batch_size):
        idx = order[start: start + batch_size]
        for i, ids in zip(idx, generate(model, [sources[i] for i in idx], opts)):
            out[i] = tokenizer.decode(ids)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="Marian model directory (Hugging Face layout)")
    ap.add_argument("--beams", type=int, help="num_beams (default: the model's generation config)")
    ap.add_argument("--max-length", type=int, help="max_length (default: the model's generation config)")
    ap.add_argument("--limit", type=int, help="only the first K test sentences")
    ap.add_argument("--src", default=TEST + ".en.gz", help="gzip'd source sentences")
    ap.add_argument("--ref", default=TEST + ".de.gz", help="gzip'd reference translations")
    ap.add_argument("--out", help="hypothesis file (default: /tmp/<model>.<test set>.beam<N>.txt)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    model = load_checkpoint(args.model)
    tokenizer = MarianTokenizer(args.model)
    opts = generation_options(args.model, num_beams=args.beams, max_length=args.max_length)
    sources, refs = read_gz_lines(args.src, args.limit), read_gz_lines(args.ref, args.limit)
    out = args.out or os.path.join(
        "/tmp", f"{os.path.basename(os.path.normpath(args.model))}."
        f"{os.path.basename(args.src).split('.')[0]}.beam{opts.num_beams}.txt")

    t0 = time.time()
    hyps = translate(model, tokenizer, opts, sources, args.batch_size)
    elapsed = time.time() - t0
    with open(out, "w", encoding="utf-8") as f:
        f.writelines(h + "\n" for h in hyps)
    print(f"{len(hyps)} sentences, num_beams {opts.num_beams}, max_length {opts.max_length}: "
          f"{elapsed:.1f}s ({len(hyps) / elapsed:.1f} sentences/s), hypotheses in {out}")
    print(format_score(corpus_bleu(hyps, refs)))


if __name__ == "__main__":
    main()
