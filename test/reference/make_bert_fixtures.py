#!/usr/bin/python3
"""Write the BERT parity fixtures: small model directories with random
weights, in exactly the Hugging Face / sentence-transformers layout, plus
the token ids and embeddings the PyTorch reference computes for them.

    /usr/bin/python3 test/reference/make_bert_fixtures.py --out test/fixtures

Fast (seconds) and seeded: the same files on every run.

Models (random weights: embeddings normal(0, 0.02) as HF initializes
them; dense weights normal(0, 0.08), wider than HF's 0.02 so that attention
is far from uniform and the GELU variant visibly changes the output;
LayerNorm weights 1 + normal(0, 0.1); every bias and LayerNorm bias
normal(0, 0.05); so every tensor changes the result):
  bert-minilm  all-MiniLM-L6-v2's shape: its real config.json (hidden 384,
               6 layers, 12 heads, intermediate 1536, gelu, eps 1e-12,
               type_vocab_size 2), modules.json, 1_Pooling/config.json (mean),
               2_Normalize/, sentence_bert_config.json (max_seq_length 256),
               the real vocab.txt, tokenizer.json, tokenizer_config.json and
               special_tokens_map.json; F32, tensor names without prefix.
  bert-odd     hidden 120, 5 heads (head dim 24), 3 layers, intermediate 250,
               max_position_embeddings 64, hidden_act gelu_new (tanh GELU),
               layer_norm_eps 1e-6; F16; BertForMaskedLM names ("bert."
               prefix, cls.predictions.* MLM head, bert.pooler.dense.*);
               CLS pooling and no Normalize module; tokenizer.json,
               tokenizer_config.json, special_tokens_map.json but NO vocab.txt;
               sentence_bert_config.json says 256, so positions cap it at 64.
  bert-bf16    hidden 64, 2 heads, 2 layers, intermediate 128,
               max_position_embeddings 128, type_vocab_size 1, gelu; BF16;
               names without prefix; max pooling then Normalize; vocab.txt
               as the only tokenizer file and no sentence_bert_config.json.
  bert-untied  hidden 48, 3 heads, 2 layers, intermediate 96,
               max_position_embeddings 32, relu; F32; BertForMaskedLM with
               tie_word_embeddings false: its own cls.predictions.decoder.weight;
               vocab.txt only, no sentence-transformers files (mean pooling).
  bert-embed-en  a copy of the shipped models/bert-embed-en (the real
               weights), for the fill-mask parity on the shipped model.

Each directory also holds:
  sentences.txt  the same lines for every model (UTF-8, one sentence per
                 line, "\\n"-terminated): STS dev sentences, an empty line
                 (the empty string), a line longer than 256 word pieces,
                 accents, CJK, punctuation, an emoji, a tab, a no-break
                 space, a zero-width space, a 120-letter word, "[MASK]";
  reference.txt  for each sentence, in order, two lines:
                   ids <token ids, [CLS] ... [SEP], space-separated>
                   emb <the pooled embedding (L2-normalized when the model
                        has a Normalize module), %.9g floats>
The models with a masked-LM head (bert-odd, bert-untied, bert-embed-en)
also hold fill_mask.txt: the fill-mask reference (test/reference/fill_mask.py)
of fill_mask_inputs(max length) with top_k 10, per input the lines
  text <the input>
  ids <token ids as the model reads them>
and per [MASK] kept after truncation
  mask <its token index>
  pred\t<token id>\t<probability %.9g>\t<token string>\t<filled-in text>  (10 lines)
bert-minilm has no head: the error case.
The truncation length is min(max_seq_length of sentence_bert_config.json
when present, max_position_embeddings): [CLS] + the first (length - 2)
word pieces + [SEP]. Token type ids are all 0. The reference is computed in
float32 from the weights as stored (F16/BF16 widened exactly to float32),
one sentence at a time (no padding), by loading the directory written
here (bert.SentenceEmbedder), not from the in-memory model.
"""
import argparse
import json
import os
import shutil
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bert import BertForMaskedLM, BertModel, SentenceEmbedder, bert_state_dict, masked_lm_state_dict  # noqa: E402
from fill_mask import FillMasker  # noqa: E402
from repo_data import BERT_TOKENIZER as TOKENIZER, SHIPPED_EMBEDDER, read_sts  # noqa: E402
from safetensors_io import write_safetensors  # noqa: E402

EXTRA_SENTENCES = [
    "",
    "Crème brûlée à la française: naïve Zoë's café\u00a0façade, Ångström, São Paulo, Dvořák, İstanbul.",
    "ÉCOLE NORMALE SUPÉRIEURE — ÜBER STRASSE ÇA VA? Ñandú",
    "我爱北京天安门 and 東京タワー are landmarks; 한국어 text too.",
    "Hello!!! What?? (yes) [no] {maybe}... \"quoted\" 'single' #hash $100 50% a+b=c ~tilde~ @user |pipe| \\back\\",
    "I love pizza \U0001F355 and ice-cream \U0001F366 so much",
    "tab\tseparated\twords and zero\u200bwidth joiner",
    "The capital of France is [MASK].",
    "a" * 120 + " short words after a very long one",
    "don't won't can't it's O'Neill's U.S.A. e-mail 3.14159 1,000,000",
]


def sts_sentences(n):
    """The first n distinct sentences of STS dev (column 6 then 7)."""
    out = []
    for a, b, _ in read_sts():
        for s in (a, b):
            if s not in out:
                out.append(s)
    return out[:n]


def sentences():
    """The fixture sentences: 28 STS dev ones, the extras, one > 256 pieces."""
    sts = sts_sentences(28)
    long_line = " ".join(sts_sentences(60))
    return sts + EXTRA_SENTENCES + [long_line]


def random_init(model, gen):
    """Random weights with non-trivial dense layers, LayerNorms and biases."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm.weight" in name:
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen))
            elif name.endswith("bias"):
                p.copy_(0.05 * torch.randn(p.shape, generator=gen))
            else:
                std = 0.02 if "embeddings" in name else 0.08
                p.copy_(std * torch.randn(p.shape, generator=gen))


def copy_files(out, names):
    """Copy real bert-base-uncased tokenizer / sentence-transformers files."""
    for name in names:
        os.makedirs(os.path.dirname(os.path.join(out, name)), exist_ok=True)
        shutil.copyfile(os.path.join(TOKENIZER, name), os.path.join(out, name))


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def base_config(**changes):
    """The real all-MiniLM-L6-v2 config.json with `changes` applied."""
    with open(os.path.join(TOKENIZER, "config.json")) as f:
        cfg = json.load(f)
    cfg.update(changes)
    return cfg


def pooling_config(dim, mode):
    """1_Pooling/config.json with exactly one of cls/mean/max set."""
    return {
        "word_embedding_dimension": dim,
        "pooling_mode_cls_token": mode == "cls",
        "pooling_mode_mean_tokens": mode == "mean",
        "pooling_mode_max_tokens": mode == "max",
        "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": False,
        "include_prompt": True,
    }


def modules(normalize):
    """modules.json: Transformer, Pooling and optionally Normalize."""
    mods = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
    if normalize:
        mods.append({"idx": 2, "name": "2", "path": "2_Normalize",
                     "type": "sentence_transformers.models.Normalize"})
    return mods


def make_minilm(out, gen):
    """bert-minilm: the real all-MiniLM-L6-v2 files, random F32 weights."""
    cfg = base_config()
    model = BertModel(cfg)
    random_init(model, gen)
    write_safetensors(os.path.join(out, "model.safetensors"), bert_state_dict(model), "F32",
                      metadata={"format": "pt"})
    copy_files(out, ["config.json", "modules.json", "1_Pooling/config.json", "sentence_bert_config.json",
                     "vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"])
    os.makedirs(os.path.join(out, "2_Normalize"), exist_ok=True)


def write_random_model(out, cfg, model, state_dict, dtype, gen):
    """Random weights for `model`, saved as `dtype` under the names
    state_dict gives, and its config.json (torch_dtype names the dtype)."""
    cfg.pop("dtype", None)
    random_init(model, gen)
    write_safetensors(os.path.join(out, "model.safetensors"), state_dict(model), dtype,
                      metadata={"format": "pt"})
    write_json(os.path.join(out, "config.json"), cfg)


def make_odd(out, gen):
    """bert-odd: odd sizes, F16, BertForMaskedLM names, CLS pooling."""
    cfg = base_config(architectures=["BertForMaskedLM"], hidden_size=120, num_attention_heads=5,
                      num_hidden_layers=3, intermediate_size=250, max_position_embeddings=64,
                      hidden_act="gelu_new", layer_norm_eps=1e-6, torch_dtype="float16")
    write_random_model(out, cfg, BertForMaskedLM(cfg, with_pooler=True), masked_lm_state_dict, "F16", gen)
    write_json(os.path.join(out, "modules.json"), modules(normalize=False))
    write_json(os.path.join(out, "1_Pooling", "config.json"), pooling_config(120, "cls"))
    copy_files(out, ["sentence_bert_config.json", "tokenizer.json", "tokenizer_config.json",
                     "special_tokens_map.json"])


def make_bf16(out, gen):
    """bert-bf16: tiny, BF16, max pooling + Normalize, vocab.txt only."""
    cfg = base_config(hidden_size=64, num_attention_heads=2, num_hidden_layers=2, intermediate_size=128,
                      max_position_embeddings=128, type_vocab_size=1, torch_dtype="bfloat16")
    write_random_model(out, cfg, BertModel(cfg), bert_state_dict, "BF16", gen)
    write_json(os.path.join(out, "modules.json"), modules(normalize=True))
    write_json(os.path.join(out, "1_Pooling", "config.json"), pooling_config(64, "max"))
    os.makedirs(os.path.join(out, "2_Normalize"), exist_ok=True)
    copy_files(out, ["vocab.txt"])


def make_untied(out, gen):
    """bert-untied: tiny, F32, BertForMaskedLM with an untied decoder."""
    cfg = base_config(architectures=["BertForMaskedLM"], hidden_size=48, num_attention_heads=3,
                      num_hidden_layers=2, intermediate_size=96, max_position_embeddings=32,
                      hidden_act="relu", tie_word_embeddings=False, torch_dtype="float32")
    write_random_model(out, cfg, BertForMaskedLM(cfg), masked_lm_state_dict, "F32", gen)
    copy_files(out, ["vocab.txt"])


def make_shipped(out, gen):
    """bert-embed-en: the shipped model, copied."""
    shutil.copytree(SHIPPED_EMBEDDER, out, dirs_exist_ok=True)


def fill_mask_inputs(max_length):
    """Fill-mask inputs for a model reading max_length tokens: one, several
    and only [MASK]s, [MASK] glued to a word, accents, punctuation that the
    decoder's cleanup joins, a [MASK] in the last place that fits, and one
    cut off by the truncation beside one kept."""
    words = max_length - 3
    return [
        "a man is riding a [MASK].",
        "The capital of France is [MASK].",
        "[MASK] dog runs on the [MASK] beach, and [MASK] children play.",
        "[MASK]",
        "two women are [MASK]ing in the park",
        "Crème brûlée [MASK] à la française, naïve café",
        "it's a [MASK] day , isn't it ? he said , don't you think !",
        "a [MASK] [MASK] [MASK] [MASK] [MASK] [MASK] [MASK] [MASK].",
        "word " * words + "[MASK]",
        "[MASK] " + "word " * words + "[MASK] is cut off",
    ]


def write_fill_mask_reference(out, top_k=10):
    """fill_mask.txt: the reference fill-mask of fill_mask_inputs()."""
    fm = FillMasker(out)
    with open(os.path.join(out, "fill_mask.txt"), "w", encoding="utf-8", newline="\n") as f:
        for text in fill_mask_inputs(fm.max_length):
            ids, masks = fm(text, top_k)
            f.write(f"text {text}\n")
            f.write("ids " + " ".join(map(str, ids)) + "\n")
            for pos, preds in masks:
                f.write(f"mask {pos}\n")
                for token_id, score, token, sequence in preds:
                    f.write(f"pred\t{token_id}\t{score:.9g}\t{token}\t{sequence}\n")


def write_reference(out, lines):
    """sentences.txt and reference.txt (ids + embedding per sentence)."""
    with open(os.path.join(out, "sentences.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.writelines(s + "\n" for s in lines)
    emb = SentenceEmbedder(out)
    with open(os.path.join(out, "reference.txt"), "w") as f:
        for ids in emb.encode_ids(lines):
            vec = emb.embed_ids([ids], batch_size=1)[0]
            f.write("ids " + " ".join(map(str, ids)) + "\n")
            f.write("emb " + " ".join("%.9g" % x for x in vec.tolist()) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    lines = sentences()
    assert all("\n" not in s and "\r" not in s for s in lines)
    for i, (name, make) in enumerate((("bert-minilm", make_minilm), ("bert-odd", make_odd),
                                      ("bert-bf16", make_bf16), ("bert-untied", make_untied),
                                      ("bert-embed-en", make_shipped))):
        out = os.path.join(args.out, name)
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        make(out, torch.Generator().manual_seed(1000 + i))
        write_reference(out, lines)
        if name != "bert-minilm" and name != "bert-bf16":
            write_fill_mask_reference(out)
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
