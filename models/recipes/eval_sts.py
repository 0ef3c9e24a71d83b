#!/usr/bin/python3
"""STS Benchmark dev score of an exported sentence-transformers directory,
computed in PyTorch through test/reference/bert.py and bert_tokenizer.py:
Spearman rank correlation (ties get their average rank) between the cosine
similarity of the two sentence embeddings and the gold score.

    /usr/bin/python3 models/recipes/eval_sts.py --model DIR [--sts FILE]

FILE defaults to the STS dev set in the repository (test/data/stsbenchmark);
another split, such as the training data's sts-train.csv, scores the same way.
"""
import argparse
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "test", "reference"))
from repo_data import STS_DEV, read_sts  # noqa: E402


def ranks(x):
    """Ranks 1..n of x, tied values sharing their average rank."""
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    r = np.empty(len(x))
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and x[order[j + 1]] == x[order[i]]:
            j += 1
        r[order[i: j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return r


def spearman(a, b):
    """Spearman correlation = Pearson correlation of the ranks."""
    return float(np.corrcoef(ranks(a), ranks(b))[0, 1])


def main():
    from bert import SentenceEmbedder
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--sts", default=STS_DEV, help="STS Benchmark file (default: the dev set)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    pairs = read_sts(args.sts)
    emb = SentenceEmbedder(args.model)
    a = F.normalize(emb.embed([p[0] for p in pairs]), dim=-1)
    b = F.normalize(emb.embed([p[1] for p in pairs]), dim=-1)
    cos = (a * b).sum(-1).tolist()
    print(f"STS {os.path.basename(args.sts)}: {len(pairs)} pairs, Spearman {spearman(cos, [p[2] for p in pairs]):.4f}")


if __name__ == "__main__":
    main()
