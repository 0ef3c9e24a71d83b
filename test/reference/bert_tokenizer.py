"""Pure-Python port of Hugging Face's slow BertTokenizer
(models/bert/tokenization_bert.py: BasicTokenizer + WordpieceTokenizer).

It is the independent reference the C tokenizer is checked against, so it
follows the slow tokenizer step by step:

  1. the text is split on exact occurrences of the special tokens
     ([PAD] [UNK] [CLS] [SEP] [MASK]), which map straight to their ids, as
     PreTrainedTokenizer.tokenize does with its added-token trie;
  2. BasicTokenizer on each remaining piece: drop U+0000, U+FFFD and control
     characters (category C*, except tab/newline/CR), map whitespace (space,
     tab, newline, CR, category Zs) to a space, put spaces around CJK
     ideographs, NFC-normalize, split on whitespace, then per word: lower-case
     and strip accents (NFD, drop category Mn) when do_lower_case (unless
     strip_accents is False; strip only when strip_accents is True otherwise),
     and split every punctuation character (ASCII 33-47, 58-64, 91-96,
     123-126, or category P*) into its own word;
  3. WordpieceTokenizer: greedy longest-match-first with "##" continuation
     pieces; a word longer than 100 characters, or one with any unmatched
     remainder, becomes a single [UNK].

encode(text, max_length) returns [CLS] pieces[:max_length - 2] [SEP], the
truncation sentence-transformers applies with its max_seq_length.
"""
import json
import os
import unicodedata

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def is_whitespace(ch):
    """Space, tab, newline, CR, or a Unicode space separator (Zs)."""
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def is_control(ch):
    """Category C* except tab, newline and CR (those count as whitespace)."""
    if ch in "\t\n\r":
        return False
    return unicodedata.category(ch).startswith("C")


def is_punctuation(ch):
    """ASCII non-alphanumeric printable characters, or Unicode category P*."""
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def is_cjk(cp):
    """The CJK Unified Ideograph blocks BERT isolates as single words."""
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def strip_accents(word):
    """NFD, then drop the non-spacing marks (Mn)."""
    return "".join(c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn")


def split_punctuation(word):
    """'don't!' -> ['don', "'", 't', '!']."""
    out, start_new = [], True
    for ch in word:
        if is_punctuation(ch):
            out.append(ch)
            start_new = True
        else:
            if start_new:
                out.append("")
            start_new = False
            out[-1] += ch
    return out


def basic_tokenize(text, do_lower_case=True, accents=None, chinese_chars=True):
    """BasicTokenizer.tokenize: text -> list of words (no sub-word split).
    `accents` is HF's strip_accents option (None follows do_lower_case)."""
    cleaned = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or is_control(ch):
            continue
        if is_whitespace(ch):
            cleaned.append(" ")
        elif chinese_chars and is_cjk(cp):
            cleaned.append(" " + ch + " ")
        else:
            cleaned.append(ch)
    words = []
    for word in unicodedata.normalize("NFC", "".join(cleaned)).split():
        if do_lower_case:
            word = word.lower()
            if accents is not False:
                word = strip_accents(word)
        elif accents:
            word = strip_accents(word)
        words.extend(split_punctuation(word))
    return " ".join(words).split()


def wordpiece(word, vocab, unk="[UNK]", max_chars=100):
    """Greedy longest-match-first split of one word into vocabulary pieces."""
    if len(word) > max_chars:
        return [unk]
    pieces, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start:
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                break
            end -= 1
        if end == start:
            return [unk]
        pieces.append(piece)
        start = end
    return pieces


class BertTokenizer:
    """BertTokenizer over a {piece: id} vocabulary."""

    def __init__(self, vocab, do_lower_case=True, accents=None, chinese_chars=True):
        self.vocab = vocab
        self.do_lower_case = do_lower_case
        self.accents = accents
        self.chinese_chars = chinese_chars
        self.specials = [t for t in SPECIAL_TOKENS if t in vocab]
        self.cls_id, self.sep_id = vocab["[CLS]"], vocab["[SEP]"]
        self.pad_id, self.unk_id = vocab["[PAD]"], vocab["[UNK]"]
        self.mask_id = vocab.get("[MASK]")

    @classmethod
    def from_dir(cls, path):
        """Load from a model directory: vocab.txt if present (one piece per
        line, id = line number), else tokenizer.json's model.vocab; the
        lower-casing options from tokenizer_config.json / tokenizer.json."""
        opts = {}
        tj_path = os.path.join(path, "tokenizer.json")
        tj = None
        if os.path.exists(tj_path):
            with open(tj_path, encoding="utf-8") as f:
                tj = json.load(f)
            norm = tj.get("normalizer") or {}
            if norm.get("type") == "BertNormalizer":
                opts = {"do_lower_case": norm.get("lowercase", True),
                        "accents": norm.get("strip_accents"),
                        "chinese_chars": norm.get("handle_chinese_chars", True)}
        cfg_path = os.path.join(path, "tokenizer_config.json")
        if os.path.exists(cfg_path):
            with open(cfg_path, encoding="utf-8") as f:
                tc = json.load(f)
            for key, name in (("do_lower_case", "do_lower_case"), ("strip_accents", "accents"),
                              ("tokenize_chinese_chars", "chinese_chars")):
                if key in tc:
                    opts[name] = tc[key]
        vocab_path = os.path.join(path, "vocab.txt")
        if os.path.exists(vocab_path):
            vocab = load_vocab(vocab_path)
        else:
            vocab = dict(tj["model"]["vocab"])
        return cls(vocab, **opts)

    def _split_specials(self, text):
        """-> list of (is_special, fragment), scanning left to right."""
        out, i, start = [], 0, 0
        while i < len(text):
            hit = next((t for t in self.specials if text.startswith(t, i)), None)
            if hit is None:
                i += 1
                continue
            if start < i:
                out.append((False, text[start:i]))
            out.append((True, hit))
            i += len(hit)
            start = i
        if start < len(text):
            out.append((False, text[start:]))
        return out

    def tokenize(self, text):
        """text -> word pieces (no [CLS]/[SEP])."""
        pieces = []
        for special, frag in self._split_specials(text):
            if special:
                pieces.append(frag)
                continue
            for word in basic_tokenize(frag, self.do_lower_case, self.accents, self.chinese_chars):
                pieces.extend(wordpiece(word, self.vocab))
        return pieces

    def encode(self, text, max_length=512):
        """text -> [CLS] ids[:max_length - 2] [SEP]."""
        ids = [self.vocab.get(p, self.unk_id) for p in self.tokenize(text)][: max_length - 2]
        return [self.cls_id] + ids + [self.sep_id]

    def decode(self, ids, skip_special_tokens=False):
        """ids -> text, as tokenizer.decode with tokenizer.json's WordPiece
        decoder (tokenizers' decoders/wordpiece.rs, cleanup on): special
        tokens dropped when asked; after the first token, a "##" piece loses
        its prefix and any other token gets a leading space; then each
        token's string goes through the decoder's cleanup replacements."""
        inv = getattr(self, "_inv", None) or {i: t for t, i in self.vocab.items()}
        self._inv = inv
        special_ids = {self.vocab[t] for t in self.specials}
        tokens = [inv[i] for i in ids if not (skip_special_tokens and i in special_ids)]
        out = []
        for i, tok in enumerate(tokens):
            if i != 0:
                tok = tok[2:] if tok.startswith("##") else " " + tok
            for a, b in WORDPIECE_CLEANUP:
                tok = tok.replace(a, b)
            out.append(tok)
        return "".join(out)


# tokenizers' WordPiece decoder cleanup, applied in this order
WORDPIECE_CLEANUP = [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                     (" 'm", "'m"), (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")]


def load_vocab(path):
    """vocab.txt -> {piece: line number}; trailing newline stripped only."""
    vocab = {}
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            vocab[line.rstrip("\n")] = i
    return vocab
