#!/usr/bin/python3
"""Write test/data/wordpiece_corpus.txt: the lines on which the C WordPiece
tokenizer is compared with Hugging Face's JavaScript port (peer_wordpiece.mjs).

Seeded, so reruns give the same file. Run from the repository root:

    /usr/bin/python3 test/tokenizers/make_corpus.py --data DIR

--data is the training data directory (not in the repository; the real
sentences are sampled from Multi30k task 1 train and STS Benchmark train).
The corpus it wrote is committed, so the tests need neither.

One UTF-8 line per case, separated by "\\n" only: lines never contain "\\n"
but may contain "\\r", control and zero-width characters, so readers must
split on "\\n" and nothing else (not str.splitlines). No NUL bytes and no
invalid UTF-8 here (the C unit test covers those directly).

Random characters are drawn only from code points assigned in this Python's
Unicode database (14.0), so the comparison measures the tokenizer rather than
differences between Unicode versions (utf8proc 2.8 has 15.0, Node 20's ICU
newer). Supplementary-plane CJK ideographs (U+20000 and up) are left out:
the JavaScript peer walks UTF-16 code units and never sees them as CJK; the
C unit test checks them against Python's BertTokenizer behaviour instead.
"""
import argparse
import gzip
import os
import random
import unicodedata

SEED = 20240611

# Hand-written edge cases, one per line (escapes keep this file readable).
EDGE_CASES = [
    # accents and case
    "Crème brûlée à la française, naïve café résumé.",
    "Příliš žluťoučký kůň úpěl ďábelské ódy.",
    "Zażółć gęślą jaźń. ZAŻÓŁĆ GĘŚLĄ JAŹŃ.",
    "Tiếng Việt có dấu: Người ta thường nói rằng.",
    "Straße, STRASSE, Äpfel, Öl, Übermut, ÄÖÜ äöü ß ẞ",
    "İstanbul'da ışık, IŞIK, İĞNE, iğne; DİYARBAKIR",
    "Ångström, Øresund, Æsir, Œuvre, Þór, Ðiðrik",
    "ǅemal ǈubljana ǋeva Ǳ ǲ ǳ",
    "ΟΔΟΣ ΣΟΦΟΣ ΣΊΣΥΦΟΣ ΑΣ. Σ ΑΣ'Α ΑΣΑ Α.Σ.",
    "Η ΟΔΟΣ ΤΟΥ ΚΟΣΜΟΥ: ΛΟΓΟΣ, ΘΕΟΣ! ΕΡΩΣ?",
    "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "ПРИВЕТ МИР Ёлка ёжик",
    "Ǎǎ Ěě Ǐǐ Ǒǒ Ǔǔ Ǖǖ Ǘǘ Ǚǚ Ǜǜ",
    "ﬁnance ﬂow ﬀ ﬃ ﬄ (ligatures)",
    "ＡＢＣ ａｂｃ １２３ ｶﾀｶﾅ （全角）",
    "KELVIN \u212a Ohm \u2126 Angstrom \u212b",
    "Ⅻ ⅻ Ⓐⓑⓒ 🄰🄱 ªº",
    # CJK, Japanese, Korean
    "我爱自然语言处理和机器学习。",
    "我爱NLP和机器学习123",
    "北京是中国的首都，上海是最大的城市！",
    "㐀㐁㐂 豈 更 車 (CJK extension A and compatibility ideographs)",
    "東京タワーに行きました。とても楽しかったです！",
    "ひらがな カタカナ 漢字 ｈａｌｆ",
    "안녕하세요 세계! 한국어 텍스트입니다.",
    "한국어와 English 혼합 mixed 텍스트",
    "〈《「『【〔〖〘〚」』】〕〗〙〛》〉",
    "日本語、中国語、한국어。",
    # right-to-left scripts
    "مرحبا بالعالم! كيف حالك؟",
    "مُحَمَّد رَسُولُ ٱللَّٰهِ",
    "٠١٢٣٤٥٦٧٨٩ ۰۱۲۳ (Arabic-Indic digits)",
    "שָׁלוֹם עוֹלָם! שלום עולם",
    "\u200fRTL mark\u200e LTR mark \u202bembedding\u202c \u2067isolate\u2069",
    # other scripts
    "नमस्ते दुनिया! हिन्दी भाषा।",
    "สวัสดีครับ ภาษาไทย",
    "வணக்கம் உலகம்",
    "გამარჯობა მსოფლიო",
    "Բարև աշխարհ։ Հայերեն՝ լեզու",
    "ሰላም ለዓለም።",
    # emoji
    "I ❤️ NY 🗽 and 🍕!",
    "Family: 👨‍👩‍👧‍👦 couple: 👩‍❤️‍👨 rainbow: 🏳️‍🌈",
    "Skin tones 👍🏽 👋🏿 flags 🇺🇸🇫🇷 keycap 1️⃣ #️⃣",
    "😀😃😄😁😆😅😂🤣☺️😊",
    "emoji👍glued😀to🎉words",
    # punctuation runs
    "!!!???...,,,;;;:::",
    "Wait—what?! The end… or is it‽",
    "«Bonjour» „Hallo“ “Hello” ‘hi’ ‚x‘ ‹y›",
    "¿Qué? ¡Sí! (((nested))) [[[brackets]]] {{{braces}}}",
    "a.b.c e-mail don't rock'n'roll o'clock",
    "#hashtag @user $100 + 50% = ? ~`^|\\ <tag> &amp;",
    "\"double\" 'single' `back` ´acute´ ¨diaeresis¨",
    "----- ===== _____ ***** ///// \\\\\\\\\\",
    "§1 ¶2 †3 ‡4 •5 ‰6 ′7 ″8 ‴9",
    "Math: ∀x∈ℝ, x²≥0 ∑∏∫ √2 ≈ 1.414 ≠ π",
    "Currency: € £ ¥ ₹ ₽ ₿ ¢ $",
    "。、・ー～！？：；（）",
    # control and zero-width characters
    "zero\u200bwidth\u200bspace",
    "zero\u200cnon\u200djoiner",
    "\ufeffbyte order mark at start",
    "soft\u00adhyphen in\u00adside",
    "word\u2060joiner and\u180emongolian",
    "bell\u0007 escape\u001b[31mred\u001b[0m delete\u007f",
    "c1\u0085next\u0080line\u009fend",
    "vertical\u000btab form\u000cfeed file\u001csep\u001dgroup\u001erecord\u001funit",
    "carriage\rreturn in the middle",
    "replacement \ufffd character and \ufffd\ufffd",
    "private use \ue000\uf8ff \U000f0000 area",
    "variation\ufe0f selector\ufe0e and tags \U000e0041\U000e007f",
    "interlinear \ufff9anchor\ufffa\ufffb",
    # whitespace
    "tabs\tbetween\t\twords\t",
    "non\u00a0breaking\u00a0space",
    "em\u2003space thin\u2009space hair\u200aspace ideographic\u3000space",
    "line\u2028separator paragraph\u2029separator",
    "ogham\u1680space narrow\u202fnbsp math\u205fspace",
    "   leading and trailing spaces   ",
    "multiple     spaces      inside",
    "\t\t",
    " ",
    "",
    # very long words
    "a" * 100,
    "a" * 101,
    "b" * 100 + "!",
    "pneumonoultramicroscopicsilicovolcanoconiosis" * 3,
    "é" * 60 + " " + "é" * 101,
    "e\u0301" * 60,
    "1234567890" * 11,
    "ab" * 51,
    "ab" * 50 + " end",
    "Supercalifragilisticexpialidocious antidisestablishmentarianism",
    "https://www.example.com/a/very/long/path/" + "segment" * 12 + "?query=1",
    "😀" * 101,
    # numbers
    "3.14159 2.71828 1,000,000 1.000.000,50 -42 +7",
    "2023-10-05 10:30pm 23:59:59 UTC+02:00",
    "½ ¼ ¾ ⅓ ² ³ ¹ ⁴ ₀ ₁ ① ② ⑩",
    "Call +1 (555) 123-4567 or 555.123.4567",
    "100km/h 5kg 20°C 98.6°F 3×4=12 10÷2=5",
    # URLs and e-mail
    "https://www.example.com/path?query=1&x=y#frag",
    "http://user:pass@sub.domain.co.uk:8080/index.html",
    "Mail me at user.name+tag@example.co.uk today.",
    "ftp://files.example.org/pub/file_v2.0.tar.gz",
    "www.google.com/search?q=bert+tokenizer",
    # mixed case
    "HeLLo WoRLD ThIs Is MiXeD cAsE",
    "iPhone iPad MacBook McDonald's O'Neill",
    "NASA UNESCO NATO UN EU USA",
    # combining marks
    "e\u0301 a\u0308\u0301 o\u0302\u0303 n\u0303",
    "Z\u0334\u0308\u0344a\u0336l\u0337g\u0338o\u0335 text",
    "a\u0301\u0316 a\u0316\u0301 (marks in both orders)",
    "\u0301leading mark and \u20dd enclosing \u20e3",
    "q\u0307\u0323 \u1e0b\u0323 \u1e0d\u0307",
    "ক্ষ ক্ষি (Bengali conjuncts)",
    # special tokens in text
    "[MASK]",
    "The [MASK] sat on the mat.",
    "[CLS] hello world [SEP]",
    "[mask] is lower case and not special",
    "[MASK][MASK][MASK]",
    "x[MASK]y[SEP]z",
    "[UNK] [PAD] [CLS] [SEP] [MASK]",
    "[ MASK ] [MASK [MASK]] [[MASK]]",
    "ΟΔΟΣ[MASK]ΣΟΦΟΣ",
    "\u200b[MASK]\u200b",
    "[MA\u200bSK] split by a zero-width space",
    "Paris is the [MASK] of France.",
    "[CLS]",
    "[SEP]",
    # mixed
    "Hello, world! 你好，世界！ Привет, мир! مرحبا!",
    "Costs €5.99 (≈$6.50) — cheap!!!",
    "C++ C# F# .NET Node.js ASP.NET",
    "snake_case camelCase kebab-case PascalCase",
    "email@test.com #tag @mention http://x.y",
]

# Pieces used to perturb real sentences.
PERTURB = [
    "\u200b", "\u200d", "\ufeff", "\u00a0", "\t", "\u0301", "\u0308", "\u00ad",
    "\u0007", "\u001b", "\u007f", "\u3000", "\u2003", "\r", "  ",
    "[MASK]", "[CLS]", "[SEP]", "😀", "👍🏽", "👨‍👩‍👧", "…", "—", "!!!", "?!",
    "中", "文字", "カ", "한", "é", "ø", "ß", "Σ", "İ", "ﬁ", "²", "½",
]

# Blocks from which random characters are drawn (inclusive ranges).
BLOCKS = [
    (0x0020, 0x007E), (0x00A0, 0x024F), (0x0250, 0x02FF), (0x0300, 0x036F),
    (0x0370, 0x03FF), (0x0400, 0x052F), (0x0530, 0x058F), (0x0590, 0x05FF),
    (0x0600, 0x06FF), (0x0900, 0x097F), (0x0980, 0x09FF), (0x0E00, 0x0E7F),
    (0x10A0, 0x10FF), (0x1100, 0x11FF), (0x1AB0, 0x1AFF), (0x1D00, 0x1DFF),
    (0x1E00, 0x1FFF), (0x2000, 0x206F), (0x2070, 0x209F), (0x20A0, 0x20CF),
    (0x20D0, 0x20FF), (0x2100, 0x218F), (0x2190, 0x23FF), (0x2460, 0x24FF),
    (0x2500, 0x27BF), (0x2C00, 0x2E7F), (0x3000, 0x30FF), (0x3100, 0x31FF),
    (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xA640, 0xA69F), (0xA700, 0xA7FF),
    (0xAB30, 0xAB6F), (0xAC00, 0xD7A3), (0xF900, 0xFAFF), (0xFB00, 0xFB4F),
    (0xFE00, 0xFE6F), (0xFF00, 0xFFEF), (0x10400, 0x1044F), (0x1D400, 0x1D7FF),
    (0x1F100, 0x1F1FF), (0x1F300, 0x1F6FF), (0x1F900, 0x1F9FF), (0xE0000, 0xE007F),
]


def read_lines_gz(path):
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        return [line.rstrip("\n").rstrip("\r") for line in f]


def sts_sentences(path):
    out = []
    with open(path, encoding="utf-8", newline="") as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            out.extend(c for c in cols[5:7] if c.strip())
    return out


def usable(cp):
    """Assigned in this Unicode database, not a surrogate, not a line break,
    not a supplementary CJK ideograph (see the module comment)."""
    if 0x20000 <= cp <= 0x3FFFF:
        return False
    if cp in (0x0A, 0x00) or unicodedata.category(chr(cp)) in ("Cn", "Cs"):
        return False
    return True


def random_char(rng):
    lo, hi = rng.choice(BLOCKS)
    while True:
        cp = rng.randint(lo, hi)
        if usable(cp):
            return chr(cp)


def random_line(rng):
    """Words of random characters from the blocks, separated by spaces or
    nothing; exercises categories, case mappings and decompositions."""
    words = []
    for _ in range(rng.randint(1, 12)):
        words.append("".join(random_char(rng) for _ in range(rng.randint(1, 8))))
    return "".join(w + rng.choice([" ", " ", " ", "", "\t"]) for w in words)


def perturb(rng, sentence):
    """Insert a few edge pieces at random places, maybe change the case."""
    chars = list(sentence)
    for _ in range(rng.randint(1, 4)):
        chars.insert(rng.randint(0, len(chars)), rng.choice(PERTURB))
    s = "".join(chars)
    r = rng.random()
    if r < 0.2:
        s = s.upper()
    elif r < 0.3:
        s = s.swapcase()
    return s


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="training data directory (multi30k/, stsbenchmark/)")
    ap.add_argument("--out", default=os.path.join(root, "test", "data", "wordpiece_corpus.txt"))
    args = ap.parse_args()
    rng = random.Random(SEED)

    task1 = os.path.join(args.data, "multi30k", "task1")
    real = []
    for lang in ("en", "de", "fr", "cs"):
        real += rng.sample(read_lines_gz(os.path.join(task1, "train.%s.gz" % lang)), 300)
    real += rng.sample(sts_sentences(os.path.join(args.data, "stsbenchmark", "sts-train.csv")), 400)

    lines = list(EDGE_CASES)
    lines += real
    lines += [perturb(rng, rng.choice(real)) for _ in range(400)]
    lines += [random_line(rng) for _ in range(400)]

    for line in lines:
        assert "\n" not in line and "\0" not in line, repr(line)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "wb") as f:
        f.write("".join(line + "\n" for line in lines).encode("utf-8"))
    print("wrote %d lines to %s" % (len(lines), args.out))


if __name__ == "__main__":
    main()
