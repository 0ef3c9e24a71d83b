#!/usr/bin/python3
"""Write test/data/spm_corpus.txt: one SentencePiece test case per line.

Real sentences (Multi30k en/de/fr/cs, STS Benchmark) plus edge cases for the
normalizer and the segmenter: NFKC-sensitive characters, composed and
decomposed accents, CJK, emoji, control and zero-width characters, runs of
spaces and tabs, NBSP, leading/trailing whitespace, very long words,
characters the models do not know, literal U+2581, invalid UTF-8, and seeded
random mixtures of all of these.

It also writes test/data/spm_decode_ids.txt, random id sequences to decode
with the "extras" variant, and the variants of source.spm that the test
compares too:
test/data/spm_variant_<name>.bin holds protobuf fields to append to the
model (protobuf merges them into the earlier ones): other normalizer flags,
no charsmap, and "extras" (user-defined, unused and byte-fallback pieces).

The file is bytes, not text: some lines are deliberately invalid UTF-8, and
a line may hold any byte but '\\n' (spm_encode reads lines with getline).

Usage: /usr/bin/python3 test/tokenizers/make_spm_corpus.py DATA_DIR [OUT]
  DATA_DIR is the training data directory (not in the repository; the real
  sentences are sampled from Multi30k task 1 train and STS Benchmark train);
  OUT defaults to test/data/spm_corpus.txt. What
  it wrote is committed, so the tests need neither.
"""
import csv
import gzip
import os
import random
import struct
import sys

SEED = 20240521
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
if len(sys.argv) < 2:
    sys.exit(__doc__)
DATA = sys.argv[1]
OUT = sys.argv[2] if len(sys.argv) > 2 else os.path.join(REPO, "test", "data", "spm_corpus.txt")

rng = random.Random(SEED)


def gz_lines(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def real_sentences():
    """300 Multi30k captions per language and 300 STS sentences."""
    out = []
    for lang in ("en", "de", "fr", "cs"):
        lines = gz_lines(os.path.join(DATA, "multi30k", "task1", "train.%s.gz" % lang))
        out += rng.sample(lines, 300)
    sts = []
    with open(os.path.join(DATA, "stsbenchmark", "sts-train.csv"), encoding="utf-8") as f:
        for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(row) >= 7:
                sts += [row[5], row[6]]
    out += rng.sample(sts, 300)
    return out


# Characters that NFKC (and nmt_nfkc) rewrite.
NFKC = (
    "ＡＢＣｘｙｚ０１２３４５６７８９！？（）［］｛｝＠＃％＆＊＋－＝"  # full width
    "ﬀﬁﬂﬃﬄﬅﬆ"  # ligatures
    "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳㉑㊿⑴⒜🄐"  # enclosed
    "㎏㎞㎡㎥㏄℃℉™℡№㍻㌀㌔㍿"  # squared and letterlike
    "ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩⅪⅫⅬⅭⅮⅯⅰⅱⅲⅳⅴⅻ"  # Roman numerals
    "²³¹⁴⁵⁰₀₁₂½¼¾⅓⅞"  # super/subscripts, fractions
    "ｶﾀｶﾅﾞﾟｱｲｳ"  # half-width katakana
    "𝐀𝐁𝐂𝑎𝑏𝒸𝔸𝕏𝟘𝟙"  # mathematical alphanumerics
    "ﷺﷻ﷽ﻼﺎﺑ"  # Arabic presentation forms (long expansions)
    "ſµΩÅK…‥′″‼⁇⁈"  # compatibility letters and punctuation
)
# Decomposed sequences (base + combining marks) and their composed forms.
ACCENTS = [
    "cafe\u0301", "café", "A\u030angstro\u0308m", "Ångström", "n\u0303", "ñ",
    "Vie\u0323\u0302t Nam", "Việt Nam", "e\u0301\u0301\u0301", "a\u0300\u0301\u0302\u0303\u0308",
    "\u1100\u1161\u11a8", "각", "Z\u030czlutoucky\u0301", "Žluťoučký kůň", "ç c\u0327 Ç C\u0327",
    "\u0301leading combining", "o\u0308\u0304", "ȫ", "i\u0307", "ﬁ\u0301",
]
CJK = [
    "日本語のテキストです。", "我爱北京天安门", "한국어 문장입니다", "東京都は日本の首都です",
    "カタカナとひらがな", "中文，标点。符号！", "漢字かな交じり文", "𠀀𠀁𪚥", "ㄅㄆㄇㄈ", "𤭢",
]
EMOJI = [
    "😀", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷🇩🇪", "1️⃣", "❤️", "🏳️‍🌈", "🤖 robots", "☃", "🐈‍⬛",
]
CONTROL = [chr(c) for c in list(range(0, 10)) + list(range(11, 32)) + [0x7F]] + \
    [chr(c) for c in range(0x80, 0xA0)]
ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u200e", "\u200f",
              "\u202a", "\u202e", "\u034f", "\u180e"]
SPACES = [" ", "  ", "\t", "\u00a0", "\u2000", "\u2002", "\u2003", "\u2009", "\u200a",
          "\u202f", "\u205f", "\u3000", "\u2028", "\u2029", "\u0085", "\r", "\x0b", "\x0c",
          "\u1680"]
RARE = [
    "ሰላም ልጆች", "தமிழ் மொழி", "བོད་ཡིག", "𒀀𒀁", "ᚠᚢᚦ", "ꯃꯩꯇꯩ", "\ue000\ue001", "\U000f0000",
    "\u0378", "\ufffe", "\uffff", "\ufffd", "ᏣᎳᎩ", "ߒߞߏ", "𓀀𓁐", "Ⰰⰱ", "𐌰𐌱", "ꙮ",
]
WORDS = ["the", "a", "man", "Hund", "chien", "pes", "sur", "mit", "je", "riding", "bicycle",
         "ny", "lehilahy", "Malagasy", "teny", "an-tanàna", "123", "3.14", "e-mail",
         "http://example.com/a?b=c", "O'Brien", "naïve", "Straße", "Œuvre", "ÆSIR"]
INVALID = [
    b"\xff", b"\xfe\xff", b"abc\x80def", b"\xc0\xaf", b"\xc1\xbf", b"\xe0\x80\xaf",
    b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xf4\x90\x80\x80", b"\xf8\x88\x80\x80\x80",
    b"\xe2\x82", b"\xe2\x82 x", b"\xf0\x9f\x98", b"x\xf0\x9f", b"\xc3", b"caf\xc3",
    b"\xc3\x28", b"\xa0\xa1", b"\xe2\x28\xa1", b"\xf0\x28\x8c\xbc", b"\x80\x80\x80",
    b"ok \xef\xbf\xbd ok", b"\xef\xbf\xbe", b"\xe2\x96", b"\xe2\x96\x81\xe2\x96",
    b"\xfc\x80\x80\x80\x80\xaf", b" \xff \xfe ", b"A\xffB\xfeC", b"\xc2\xa0\xc2",
    b"\x00\xff\x00",
]
ESCAPES = ["▁", "▁▁", "▁hello", "hello▁", "a▁b", "▁ ▁", " ▁", "▁ "]
SPECIAL_TEXT = ["<unk>", "<s>", "</s>", "<pad>", "<s> hello </s>", "<0x41>", "⁇", " ⁇ "]

# Pieces the "extras" variant adds: USER_DEFINED ones (kept out of the
# charsmap, always preferred whatever their score), UNUSED ones (never
# produced, whatever their score), then the 256 byte pieces of byte_fallback.
USER_DEFINED = ["<mask>", "Hello", "Hel", "New York", "ﬁ", "日本", "▁▁", "abab", "🤖", "x y",
                "e\u0301", "①②", "\u200b", "ŋŋ", "ŋŋŋŋ"]
UNUSED = ["qqqq", "▁Hellothere", "zzz", "▁Hund", "▁chie", "▁nea", "▁ridin"]
EXTRA_TEXT = ["Hello <mask> in New York", "New Yorker ﬁnal ab abab", "日本語 🤖 x y z",
              "cafe\u0301 ①② ③ \u200b", "qqqq zzz Hellothere near Hund chien riding", "Help Hel Hell Hello", "▁▁ ▁▁▁ ▁",
              "HelloHello<mask><mask>", " x y ", "ab\u200bab",
              "ŋ ŋŋ ŋŋŋ ŋŋŋŋ ŋŋŋŋŋ ŋŋŋŋŋŋ"]


def encode(s):
    """A str case as UTF-8 (surrogates and noncharacters included)."""
    return s.encode("utf-8", "surrogatepass")


def edge_cases():
    """Hand-picked edge cases, then seeded random mixtures."""
    cases = ["", " ", "  ", "\t", " \t \t ", "\u00a0", "\u3000", "\u200b", "\u200b\u200b",
             "\r", " \r ", "x", " x", "x ", "  x  ", "a  b", "a\t\tb", "a \t b", "a\u00a0b",
             "a\u00a0\u00a0b", "a \u00a0 b", "\u00a0a\u00a0", "a\u3000b", "a\u2028b", "a\rb"]
    cases += list(NFKC)
    cases += ["%s and %s" % (c, c) for c in NFKC[:40]]
    cases += ACCENTS + CJK + EMOJI + RARE + ESCAPES + SPECIAL_TEXT + EXTRA_TEXT
    cases += ["a%sb" % c for c in CONTROL + ZERO_WIDTH]
    cases += ["%sword%s" % (s, s) for s in SPACES]
    cases += ["  leading and trailing  ", "\t\ttabbed line\t", "\u00a0nbsp edges\u00a0",
              "\u3000ideographic space\u3000", "\u200bzero width edges\u200b",
              "multiple     spaces    inside", "mixed \t\u00a0\u3000 whitespace"]
    long_words = [
        "Donaudampfschifffahrtsgesellschaftskapitänswitwe",
        "pneumonoultramicroscopicsilicovolcanoconiosis",
        "a" * 300, "ab" * 200, "xyz" * 150, "9" * 250, "▁" * 40, "é" * 120,
        "日本" * 100, "😀" * 60, "ﬁ" * 80, "①" * 50, "\u00a0" * 30 + "x",
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(2000)),
        "".join(rng.choice("ጀጁጂጃጄጅጆ") for _ in range(200)),
        "supercalifragilisticexpialidocious" * 10,
    ]
    cases += long_words
    out = [encode(c) for c in cases]
    out += INVALID

    pools = [list(NFKC), ACCENTS, CJK, EMOJI, CONTROL, ZERO_WIDTH, SPACES, RARE, WORDS,
             ESCAPES, SPECIAL_TEXT, USER_DEFINED + UNUSED]
    for _ in range(500):
        parts = []
        for _ in range(rng.randint(1, 12)):
            pool = rng.choice(pools + [WORDS, WORDS, SPACES])
            parts.append(rng.choice(pool))
            if rng.random() < 0.5:
                parts.append(" ")
        line = encode("".join(parts))
        if rng.random() < 0.08:  # sprinkle an invalid byte sequence
            pos = rng.randint(0, len(line))
            line = line[:pos] + rng.choice(INVALID) + line[pos:]
        out.append(line)
    return out


def varint(n):
    out = b""
    while True:
        if n < 0x80:
            return out + bytes([n])
        out += bytes([n & 0x7F | 0x80])
        n >>= 7


def field(number, value):
    """One protobuf field: int -> varint, float -> fixed32, bytes -> length-delimited."""
    if isinstance(value, bool) or isinstance(value, int):
        return varint(number << 3) + varint(int(value))
    if isinstance(value, float):
        return varint(number << 3 | 5) + struct.pack("<f", value)
    return varint(number << 3 | 2) + varint(len(value)) + value


def piece(text, piece_type, score=0.0):
    """A ModelProto.pieces entry (field 1)."""
    return field(1, field(1, encode(text)) + field(2, score) + field(3, piece_type))


def variants():
    """name -> protobuf bytes to append to source.spm."""
    # user-defined pieces win by their bonus, not their score: give them a bad one
    extras = b"".join(piece(p, 4, -100.0) for p in USER_DEFINED)
    extras += b"".join(piece(p, 5) for p in UNUSED)
    extras += b"".join(piece("<0x%02X>" % b, 6) for b in range(256))
    extras += field(2, field(35, True))  # trainer_spec.byte_fallback
    return {
        "nodummy": field(3, field(3, False)),  # normalizer_spec.add_dummy_prefix
        "keepspace": field(3, field(4, False)),  # .remove_extra_whitespaces
        "noescape": field(3, field(5, False)),  # .escape_whitespaces
        "identity": field(3, field(2, b"")),  # .precompiled_charsmap
        "extras": extras,
    }


def decode_cases():
    """Random id sequences for the "extras" variant, to check decoding alone:
    control, unknown, "▁", normal, user-defined, unused and byte pieces
    (valid and broken UTF-8 runs; never <0x0A>, which would split the line)."""
    n_source = 32000  # pieces in opus-mt-en-mg source.spm (the test checks)
    first_byte = n_source + len(USER_DEFINED) + len(UNUSED)
    lines = []
    for _ in range(400):
        ids = []
        for _ in range(rng.randint(0, 14)):
            r = rng.random()
            if r < 0.1:
                ids.append(rng.choice([1, 2]))
            elif r < 0.2:
                ids.append(0)
            elif r < 0.3:
                ids.append(35)  # "▁"
            elif r < 0.55:
                ids.append(rng.randint(3, n_source - 1))
            elif r < 0.65:
                ids.append(rng.randint(n_source, first_byte - 1))
            elif r < 0.8:
                ids += [first_byte + b for b in encode(rng.choice(NFKC + "é▁😀 "))]
            else:
                ids.append(first_byte + rng.choice([b for b in range(256) if b != 10]))
        lines.append(" ".join(map(str, ids)))
    return lines


def main():
    lines = [encode(s) for s in real_sentences()] + edge_cases()
    rng.shuffle(lines)
    for line in lines:
        assert b"\n" not in line
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "wb") as f:
        for line in lines:
            f.write(line + b"\n")
    print("%s: %d lines" % (OUT, len(lines)))
    with open(os.path.join(os.path.dirname(OUT), "spm_decode_ids.txt"), "w") as f:
        f.write("".join(line + "\n" for line in decode_cases()))
    for name, data in variants().items():
        with open(os.path.join(os.path.dirname(OUT), "spm_variant_%s.bin" % name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
