#!/usr/bin/python3
"""Corpus BLEU exactly as sacreBLEU 2.x computes its default
(BLEU(): tokenize "13a", smooth_method "exp", mixed case, max n-gram order 4,
effective_order False, closest reference length), written from
mjpost/sacrebleu's tokenizers/tokenizer_13a.py, tokenizers/tokenizer_re.py
and metrics/bleu.py.

    bleu.py HYP_FILE REF_FILE [REF_FILE ...]   prints sacreBLEU's line, e.g.
    BLEU = 35.12 66.7/41.2/28.0/19.5 (BP = 1.000 ratio = 1.012 hyp_len = 12345 ref_len = 12200)

As a module: corpus_bleu(hyps, refs) with refs a list of reference strings
(one per hypothesis) or a list of such lists (several reference streams);
returns a BleuScore whose .score is the number above.
"""
import math
import re
import sys
from collections import Counter, namedtuple

MAX_ORDER = 4

# mteval-v13a's language-dependent rules, applied in this order
_RULES = [
    # punctuation and symbols: { | } ~ [ \ ] ^ _ ` space ! " # $ % & ( ) * + : ; < = > ? @ /
    (re.compile(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])"), r" \1 "),
    (re.compile(r"([^0-9])([\.,])"), r"\1 \2 "),  # period and comma unless preceded by a digit
    (re.compile(r"([\.,])([^0-9])"), r" \1 \2"),  # ... unless followed by a digit
    (re.compile(r"([0-9])(-)"), r"\1 \2 "),  # dash after a digit
]

BleuScore = namedtuple("BleuScore", "score counts totals precisions bp sys_len ref_len")


def tokenize_13a(line):
    """sacreBLEU's Tokenizer13a: unescape a few entities, split punctuation."""
    line = line.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    for entity, char in (("&quot;", '"'), ("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">")):
        line = line.replace(entity, char)
    line = f" {line} "
    for pattern, repl in _RULES:
        line = pattern.sub(repl, line)
    return " ".join(line.split())


def ngrams(tokens):
    """Counter of all 1..4-grams (as tuples) of a token list."""
    return Counter(tuple(tokens[i: i + n]) for n in range(1, MAX_ORDER + 1)
                   for i in range(len(tokens) - n + 1))


def segment_stats(hyp, refs):
    """[hyp_len, ref_len, correct_1..4, total_1..4] for one segment."""
    hyp_tokens = tokenize_13a(hyp.rstrip()).split()
    ref_counts, ref_lens = Counter(), []
    for ref in refs:
        tokens = tokenize_13a(ref.rstrip()).split()
        ref_lens.append(len(tokens))
        for gram, count in ngrams(tokens).items():
            ref_counts[gram] = max(ref_counts[gram], count)
    # closest reference length, the shorter one on a tie
    ref_len = min(ref_lens, key=lambda r: (abs(len(hyp_tokens) - r), r))
    correct, total = [0] * MAX_ORDER, [0] * MAX_ORDER
    for gram, count in ngrams(hyp_tokens).items():
        total[len(gram) - 1] += count
        correct[len(gram) - 1] += min(count, ref_counts.get(gram, 0))
    return [len(hyp_tokens), ref_len] + correct + total


def compute_bleu(correct, total, sys_len, ref_len):
    """sacreBLEU's BLEU.compute_bleu with smooth_method 'exp'."""
    bp = 1.0 if sys_len >= ref_len else (math.exp(1 - ref_len / sys_len) if sys_len > 0 else 0.0)
    precisions = [0.0] * MAX_ORDER
    if not any(correct):
        return BleuScore(0.0, correct, total, precisions, bp, sys_len, ref_len)
    smooth = 1.0
    for n in range(MAX_ORDER):
        if total[n] == 0:
            break
        if correct[n] == 0:
            smooth *= 2
            precisions[n] = 100.0 / (smooth * total[n])
        else:
            precisions[n] = 100.0 * correct[n] / total[n]
    # log(0) is sacreBLEU's -9999999999 (an order with no n-grams zeroes the score)
    logs = [math.log(p) if p > 0 else -9999999999 for p in precisions]
    return BleuScore(bp * math.exp(sum(logs) / MAX_ORDER), correct, total, precisions, bp, sys_len, ref_len)


def corpus_bleu(hyps, refs):
    """hyps: list of strings; refs: list of strings (one reference each) or
    list of reference streams (each a list as long as hyps)."""
    streams = [refs] if refs and isinstance(refs[0], str) else list(refs)
    if any(len(s) != len(hyps) for s in streams):
        raise ValueError("hypotheses and references differ in length")
    stats = [0] * (2 + 2 * MAX_ORDER)
    for hyp, *seg_refs in zip(hyps, *streams):
        seg_refs = [r for r in seg_refs if r is not None and r != ""]
        if not seg_refs:
            raise ValueError("empty or missing reference sentence")
        stats = [a + b for a, b in zip(stats, segment_stats(hyp, seg_refs))]
    return compute_bleu(stats[2: 2 + MAX_ORDER], stats[2 + MAX_ORDER:], stats[0], stats[1])


def format_score(s):
    """sacreBLEU's BLEUScore.format() line."""
    prec = "/".join(f"{p:.1f}" for p in s.precisions)
    ratio = s.sys_len / s.ref_len if s.ref_len else 0.0
    return (f"BLEU = {s.score:.2f} {prec} (BP = {s.bp:.3f} ratio = {ratio:.3f} "
            f"hyp_len = {s.sys_len:d} ref_len = {s.ref_len:d})")


def read_lines(path):
    """Lines of a UTF-8 text file, without their newline."""
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f]


def main(argv):
    if len(argv) < 3:
        sys.exit(f"usage: {argv[0]} HYP_FILE REF_FILE [REF_FILE ...]")
    print(format_score(corpus_bleu(read_lines(argv[1]), [read_lines(p) for p in argv[2:]])))


if __name__ == "__main__":
    main(sys.argv)
