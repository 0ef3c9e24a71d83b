#!/usr/bin/python3
"""TAP self-test of bench/bleu.py on cases worked out by hand (the expected
numbers are in the comments), and of its command line.

    /usr/bin/python3 bench/test_bleu.py      (or: prove -e /usr/bin/python3 bench/test_bleu.py)
"""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bleu import corpus_bleu, tokenize_13a  # noqa: E402

count = failed = 0


def ok(cond, name):
    """Report one TAP check."""
    global count, failed
    count += 1
    failed += not cond
    print(f"{'' if cond else 'not '}ok {count} - {name}")


def near(got, want, name):
    """BLEU to two decimals, as sacreBLEU prints it."""
    ok(abs(got - want) < 0.005, f"{name}: {got:.4f} (want {want:.2f})")


# 13a tokenization: symbols split, apostrophes kept, periods and commas split
# unless between digits, dash split only after a digit, entities unescaped
ok(tokenize_13a("Hello, world!") == "Hello , world !", "13a: comma and bang")
ok(tokenize_13a("It costs $3.50, isn't it?") == "It costs $ 3.50 , isn't it ?", "13a: $, decimal, apostrophe")
ok(tokenize_13a("a-b 5-6") == "a-b 5 - 6", "13a: dash after a digit only")
ok(tokenize_13a("&quot;x&quot; &amp; y") == '" x " & y', "13a: entities")
ok(tokenize_13a("U.S.A.") == "U . S . A .", "13a: periods after letters")
ok(tokenize_13a("  tabs\tand  spaces ") == "tabs and spaces", "13a: whitespace collapsed")

# 1..4-gram matches 5/6, 3/5, 1/4, 0/3 -> exp smoothing gives 100/(2*3) for
# the 4-grams; BP 1; (500/6 * 60 * 25 * 100/6) ** (1/4) = 37.99
near(corpus_bleu(["the cat sat on the mat"], ["the cat is on the mat"]).score, 37.99, "one sentence")
# 3/5, 2/4, 1/3, 0/2 -> 4-gram 100/(2*2) = 25; (60 * 50 * 100/3 * 25) ** (1/4) = 39.76
near(corpus_bleu(["a b c x y"], ["a b c d e"]).score, 39.76, "one smoothed order")
# 3/5, 1/4, 0/3, 0/2 -> 100/(2*3), then 100/(4*2); (60 * 25 * 100/6 * 12.5) ** (1/4) = 23.64
near(corpus_bleu(["a b x c y"], ["a b c d e"]).score, 23.64, "smoothing doubles per zero order")
# all 1..4-gram precisions 100, hyp 4 < ref 6: BP exp(1 - 6/4) -> 60.65
near(corpus_bleu(["the cat sat on"], ["the cat sat on the mat"]).score, 60.65, "brevity penalty")
# two tokens: no 3-grams at all -> log(0) order -> 0
near(corpus_bleu(["the cat"], ["the cat sat on the mat"]).score, 0.0, "order without n-grams")
near(corpus_bleu(["foo bar baz qux"], ["the cat sat on"]).score, 0.0, "no match at all")
near(corpus_bleu(["The cat sat on"], ["the cat sat on"]).score, 100 * (3 / 4 * 2 / 3 * 1 / 2 * 1 / 2) ** 0.25,
     "case matters (3/4, 2/3, 1/2, 1/2 smoothed -> 100/(2*1))")
# refs of 3 and 5 tokens are equally close to 4: the shorter wins -> BP 1 -> 100
# (the longer would give exp(1 - 5/4) * 100 = 77.88); n-grams clip to the max over refs
near(corpus_bleu(["a b c d"], [["a b c"], ["a b c d e"]]).score, 100.0, "closest ref length, tie to shorter")
# corpus sums: correct = total = [8, 6, 4, 3], hyp 8 < ref 10 -> exp(-0.25) * 100
near(corpus_bleu(["the cat sat on the mat", "a dog"], ["the cat sat on the mat", "a dog runs fast"]).score,
     77.88, "statistics summed over the corpus")
try:
    corpus_bleu(["a"], [""])
    ok(False, "empty reference rejected")
except ValueError:
    ok(True, "empty reference rejected")

with tempfile.TemporaryDirectory() as tmp:
    hyp, ref = os.path.join(tmp, "hyp"), os.path.join(tmp, "ref")
    with open(hyp, "w") as f:
        f.write("the cat sat on the mat\na dog\n")
    with open(ref, "w") as f:
        f.write("the cat sat on the mat\na dog runs fast\n")
    out = subprocess.run([sys.executable, os.path.join(HERE, "bleu.py"), hyp, ref],
                         capture_output=True, text=True).stdout.strip()
    ok(out == "BLEU = 77.88 100.0/100.0/100.0/100.0 (BP = 0.779 ratio = 0.800 hyp_len = 8 ref_len = 10)",
       f"command line: {out}")

print(f"1..{count}")
sys.exit(1 if failed else 0)
