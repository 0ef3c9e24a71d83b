"""Where the data that the tests, fixture generators, benchmarks and evaluation
recipes read lives: test/data, inside the repository, so that a clone needs
nothing beside it (test/data/README.md says what each file is, where it comes
from and its licence). The one place Python code names these paths; the C
unit tests have test/unit/data_paths.h.

Training data (the Multi30k and STS training splits) is not in the
repository: the training recipes and the corpus generators take its
directory on the command line (--data DIR, required).
"""
import gzip
import os

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DATA = os.path.join(ROOT, "test", "data")
BERT_TOKENIZER = os.path.join(DATA, "tokenizers", "bert-base-uncased")
MARIAN_TOKENIZER = os.path.join(DATA, "tokenizers", "opus-mt-en-mg")
STS_DEV = os.path.join(DATA, "stsbenchmark", "sts-dev.csv")
MULTI30K = os.path.join(DATA, "multi30k", "task1")
SHIPPED_EMBEDDER = os.path.join(ROOT, "models", "bert-embed-en")


def read_gz_lines(path, n=None):
    """Lines of a gzip'd UTF-8 text file without their "\\n", the first n
    when given."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        lines = [line.rstrip("\n") for line in f]
    return lines[:n] if n else lines


def multi30k(name, n=None):
    """Lines of Multi30k task 1's <name>.gz in the repository (val.en,
    test_2016_flickr.en, test_2016_flickr.de), the first n when given."""
    return read_gz_lines(os.path.join(MULTI30K, name + ".gz"), n)


def read_sts(path=STS_DEV):
    """STS Benchmark file -> list of (sentence_a, sentence_b, gold 0..5).
    Tab-separated; gold in column 5, the sentences in columns 6 and 7 (some
    lines carry extra trailing columns). Split on tabs only: the text holds
    unbalanced quotes that a CSV reader would misparse."""
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            out.append((cols[5], cols[6], float(cols[4])))
    return out
