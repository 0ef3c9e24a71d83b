#!/usr/bin/python3
"""Reference attention maps and translation alignments for the C engine's
parity tests (test/unit/test_attention.c), from bert.py, marian.py and
generate.py (written from Hugging Face transformers 4.57's source).

    /usr/bin/python3 test/reference/make_attention_reference.py --fixtures test/fixtures

Writes attention.txt into each random fixture (bert-minilm, bert-odd,
marian-ende-size, marian-odd; run after make_*_fixtures.py) and, for the
shipped models, test/fixtures/shipped-attention/{bert-embed-en,marian-en-de}.txt.

What is recorded (the `record` lists of bert.SelfAttention and
marian.Attention: the probabilities after softmax, as output_attentions=True
returns them):
  BERT           every layer's self-attention, the texts run as one padded
                 batch (as a user would run them), each map cut to the
                 text's own tokens (padding excluded);
  Marian encoder the same for the encoder's self-attention;
  alignments     per text and for greedy (num_beams=1) and beam search
                 (num_beams=4): generate.py's output for that text alone,
                 then every decoder layer's cross-attention of that output,
                 one row per generated token: the row of the step that
                 produced it (query: the token before it, the decoder start
                 token first).  Hugging Face's generate(output_attentions=
                 True, return_dict_in_generate=True) gives cross_attentions
                 per step for every beam and beam_indices to pick the chosen
                 hypothesis' row at each step; since the decoder is causal,
                 that row depends only on the hypothesis' own prefix, so one
                 teacher-forced pass over [start] + output[:-1] gives the same
                 maps (to rounding), independently of how the search was run.

Each map is computed twice: in float64 (the weights widened exactly: the
reference values, the exact maps of these weights), and in float32, as
Hugging Face runs a float32 checkpoint, to tell how far float32 itself is
from the exact maps: on the random Marian fixtures, whose attention scores
are large, PyTorch's float32 maps are up to ~5e-4 from the float64 ones
(and two float32 runs that only batch differently differ by ~1e-4), so no
float32 engine can promise 1e-5 there. The C test allows a map
max(1e-5, 4 x PyTorch's largest float32 distance over the text's maps
of that kind) from the exact one.

Texts: for a fixture, those of its sentences.txt with at most MAX_TOKENS
tokens: the empty line, the longest (a truncated one where the model is
short), and the first others up to N_TEXTS; for the shipped models,
SHIPPED_TEXTS.  A Marian text whose greedy or beam output hinges on a
near-tie (generate.Margins below MIN_MARGIN) is left out.

File format, per text (numbers "%.9g", maps row-major):
  text <the text>
  ids <token ids>                      BERT
  map <layer> <head> <f32 error> <queries x keys>  BERT, per layer and head:
                                       the largest |float32 - float64| of the
                                       map, then its float64 weights
  src <source ids>                     Marian
  encoder <layer> <head> <f32 error> <weights>  Marian, per layer and head
  greedy <generated ids>               Marian, then its cross maps:
  cross <layer> <head> <f32 error> <weights>
  beam4 <generated ids>                Marian, then its cross maps
  cross <layer> <head> <f32 error> <weights>
"""
import argparse
import copy
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bert import SentenceEmbedder, pad_batch  # noqa: E402
from generate import Margins, generate, generation_options  # noqa: E402
from marian import load_checkpoint  # noqa: E402
from marian_tokenizer import MarianTokenizer  # noqa: E402

MAX_TOKENS = 64
N_TEXTS = 10
MIN_MARGIN = 1e-3
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHIPPED_TEXTS = [
    "A man is riding a bicycle.",
    "Two dogs are playing in the snow.",
    "An old man reads a newspaper in the park.",
    "A child in a red jacket jumps into a pile of leaves.",
    "",
    'Tom & Jerry say "<hello>" to the café owner.',
]


def numbers(values):
    return " ".join(f"{v:.9g}" for v in values)


def pick_texts(texts, lengths):
    """The fixture texts to record: at most MAX_TOKENS tokens each; the
    empty one, the longest, then the first others up to N_TEXTS."""
    fit = [i for i, n in enumerate(lengths) if n <= MAX_TOKENS]
    chosen = [i for i in fit if texts[i] == ""][:1]
    longest = max(fit, key=lambda i: lengths[i])
    chosen += [longest] if longest not in chosen else []
    chosen += [i for i in fit if i not in chosen][: N_TEXTS - len(chosen)]
    return sorted(chosen)


def recorded(modules, run):
    """Run run() with every module recording; the probabilities of each
    module, in module order."""
    logs = [[] for _ in modules]
    for m, log in zip(modules, logs):
        m.record = log
    try:
        with torch.no_grad():
            run()
    finally:
        for m in modules:
            m.record = None
    return [log[0] for log in logs]


def write_maps(f, tag, per_layer, exact, n_rows, n_cols):
    """per_layer[l], exact[l] (float32 and float64): [heads, >= n_rows,
    >= n_cols] -> one line per head."""
    for layer, (maps, maps64) in enumerate(zip(per_layer, exact)):
        for head in range(maps.shape[0]):
            m = maps[head, :n_rows, :n_cols]
            err = (m.double() - maps64[head, :n_rows, :n_cols]).abs().max().item()
            f.write(f"{tag} {layer} {head} {err:.3g} {numbers(maps64[head, :n_rows, :n_cols].flatten().tolist())}\n")


def bert_reference(model_dir, texts, out_path):
    emb = SentenceEmbedder(model_dir)
    id_lists = emb.encode_ids(texts)
    ids, mask = pad_batch(id_lists, emb.tokenizer.pad_id)
    probs = []  # float32, float64: per layer [B, heads, T, T]
    for model in (emb.model, copy.deepcopy(emb.model).double()):
        modules = [layer.attention.self for layer in model.encoder.layer]
        probs.append(recorded(modules, lambda: model(ids, mask)))
    with open(out_path, "w", encoding="utf-8", newline="\n") as f:
        for b, (text, tok) in enumerate(zip(texts, id_lists)):
            f.write(f"text {text}\nids {' '.join(map(str, tok))}\n")
            write_maps(f, "map", [p[b] for p in probs[0]], [p[b] for p in probs[1]], len(tok), len(tok))
    print(f"{out_path}: {len(texts)} texts, {len(modules)} layers")


def cross_maps(model, src, tgt_in):
    """Per decoder layer [heads, len(tgt_in), len(src)]: the cross-attention
    of one teacher-forced pass."""
    src_t = torch.tensor([src])
    mask = model.padding_mask(src_t, model.cfg["pad_token_id"])
    modules = [layer.encoder_attn for layer in model.decoder_layers]
    probs = recorded(modules, lambda: model.decode(torch.tensor([tgt_in]), model.encode(src_t), mask))
    return [p[0] for p in probs]


def marian_alignment(models, src, opts):
    """(generated ids, cross maps of models[0] (float32) and models[1]
    (float64)), or None when the output hinges on a near-tie."""
    margins = Margins(1)
    out = generate(models[0], [src], opts, margins)[0]
    if margins.min[0] < MIN_MARGIN:
        return None
    tgt_in = [opts.decoder_start_token_id] + out[:-1]
    return out, cross_maps(models[0], src, tgt_in), cross_maps(models[1], src, tgt_in)


def marian_reference(model_dir, texts, out_path, require_all=False):
    model = load_checkpoint(model_dir)
    models = (model, copy.deepcopy(model).double())
    tok = MarianTokenizer(model_dir)
    sources = [tok.encode(t, truncation=True) for t in texts]
    src, _ = pad_batch(sources, model.cfg["pad_token_id"])
    enc_probs = [recorded([layer.self_attn for layer in m.encoder_layers], lambda: m.encode(src))
                 for m in models]
    options = (("greedy", generation_options(model_dir, num_beams=1)),
               ("beam4", generation_options(model_dir, num_beams=4)))
    kept = 0
    with open(out_path, "w", encoding="utf-8", newline="\n") as f:
        for b, (text, ids) in enumerate(zip(texts, sources)):
            aligned = [marian_alignment(models, ids, opts) for _, opts in options]
            if None in aligned:
                print(f"  left out for a near-tie: {text[:50]!r}")
                if require_all:
                    raise SystemExit(f"{out_path}: a shipped text hinges on a near-tie")
                continue
            kept += 1
            f.write(f"text {text}\nsrc {' '.join(map(str, ids))}\n")
            write_maps(f, "encoder", [p[b] for p in enc_probs[0]], [p[b] for p in enc_probs[1]],
                       len(ids), len(ids))
            for (tag, _), (out, cross, cross64) in zip(options, aligned):
                f.write(f"{tag} {' '.join(map(str, out))}\n")
                write_maps(f, "cross", cross, cross64, len(out), len(ids))
    print(f"{out_path}: {kept} texts")


def fixture_texts(model_dir, count_tokens):
    with open(os.path.join(model_dir, "sentences.txt"), encoding="utf-8") as f:
        texts = f.read().split("\n")[:-1]
    return [texts[i] for i in pick_texts(texts, [count_tokens(t) for t in texts])]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fixtures", required=True, help="test/fixtures, made by make_*_fixtures.py")
    args = ap.parse_args()
    torch.manual_seed(0)
    for name in ("bert-minilm", "bert-odd"):
        d = os.path.join(args.fixtures, name)
        emb = SentenceEmbedder(d)
        bert_reference(d, fixture_texts(d, lambda t: len(emb.encode_ids([t])[0])),
                       os.path.join(d, "attention.txt"))
    for name in ("marian-ende-size", "marian-odd"):
        d = os.path.join(args.fixtures, name)
        tok = MarianTokenizer(d)
        marian_reference(d, fixture_texts(d, lambda t: len(tok.encode(t, truncation=True))),
                         os.path.join(d, "attention.txt"))
    shipped = os.path.join(args.fixtures, "shipped-attention")
    os.makedirs(shipped, exist_ok=True)
    bert_reference(os.path.join(ROOT, "models", "bert-embed-en"), SHIPPED_TEXTS,
                   os.path.join(shipped, "bert-embed-en.txt"))
    marian_reference(os.path.join(ROOT, "models", "marian-en-de"), SHIPPED_TEXTS,
                     os.path.join(shipped, "marian-en-de.txt"), require_all=True)


if __name__ == "__main__":
    main()
