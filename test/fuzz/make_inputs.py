#!/usr/bin/python3
"""Inputs of the fuzz targets that are made, not committed.

    /usr/bin/python3 test/fuzz/make_inputs.py --out test/fuzz/build

Writes, deterministically (seeded; standard library and sentencepiece only):

  models/bert    a tiny BERT checkpoint in the sentence-transformers layout:
                 hidden 8, 2 heads, 1 layer, intermediate 16, 32 positions,
                 a 100-token vocab.txt, modules.json (Transformer, Pooling,
                 Normalize), 1_Pooling/config.json (mean),
                 sentence_bert_config.json; F32 weights, 20 KB in all
  models/marian  a tiny Marian checkpoint: d_model 8, 2 heads, 1 encoder and
                 1 decoder layer, ffn 16, 32 positions, swish, shared and
                 tied embeddings; source.spm = target.spm, a 60-piece unigram
                 model trained here with a small precompiled_charsmap (full-
                 width letters, NFKC-like rules); vocab.json from its pieces
                 plus >>fr<< and <pad>
  seeds/<target> the starting corpus of each target (test/fuzz/README.md):
                 json         the real config files of models/ and
                              test/data/tokenizers, and tiny tokenizer.json
                 safetensors  the two tiny weight files, an F16/BF16 one, one
                              with __metadata__
                 spm_model    the tiny .spm, a byte_fallback one and one with
                              user-defined pieces
                 spm_text, wordpiece  lines of test/data's corpora
                 model_dir    bundles (see fuzz_model_dir.c): the tiny
                              checkpoints' JSON files, and the real models'
                              configs with the tiny shape put in
"""
import argparse
import glob
import json
import os
import random
import shutil
import struct

import sentencepiece as spm

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
TOKENIZERS = os.path.join(ROOT, "test", "data", "tokenizers")

# the tiny shape both checkpoints share
D, HEADS, FFN, POSITIONS = 8, 2, 16, 32

SPM_TEXT = [
    "the cat sat on the mat", "a dog ran to the park", "hello world, how are you?",
    "où est la gare", "ＡＢＣ！ full width", "tea and cake at five", "Ünïcödé letters",
]
# normalization rules (hex code points -> hex code points): a small charsmap
SPM_RULES = "FF01\t21\nFF21\t41\nFF22\t42\nFF23\t43\nFF41\t61\n3000\t20\n41 300\tC0\n2160\t49\n2161\t49 49\n"


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)


def write_safetensors(path, tensors, dtypes=None):
    """tensors: name -> (shape, flat list of floats); F32 unless dtypes says
    F16 or BF16 for a name."""
    header, data = {}, b""
    for name, (shape, values) in tensors.items():
        dtype = (dtypes or {}).get(name, "F32")
        if dtype == "F32":
            raw = struct.pack("<%df" % len(values), *values)
        elif dtype == "F16":
            raw = struct.pack("<%de" % len(values), *values)
        else:  # BF16: the high half of each float32
            raw = b"".join(struct.pack("<f", v)[2:] for v in values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    raw_header = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw_header)) + raw_header + data)


def random_tensor(rng, *shape):
    n = 1
    for s in shape:
        n *= s
    return (list(shape), [rng.gauss(0, 0.5) for _ in range(n)])


def layer_norm(prefix):
    return {prefix + ".weight": ([D], [1.0] * D), prefix + ".bias": ([D], [0.0] * D)}


def attention(rng, prefix, q, k, v, out):
    t = {}
    for name in (q, k, v, out):
        t[f"{prefix}.{name}.weight"] = random_tensor(rng, D, D)
        t[f"{prefix}.{name}.bias"] = random_tensor(rng, D)
    return t


def feed_forward(rng, prefix, fc1, fc2, norm):
    """A post-LN feed-forward block: fc1 [FFN, D], fc2 [D, FFN], LayerNorm."""
    t = {f"{prefix}.{fc1}.weight": random_tensor(rng, FFN, D), f"{prefix}.{fc1}.bias": random_tensor(rng, FFN),
         f"{prefix}.{fc2}.weight": random_tensor(rng, D, FFN), f"{prefix}.{fc2}.bias": random_tensor(rng, D)}
    t.update(layer_norm(f"{prefix}.{norm}"))
    return t


def bert_checkpoint(out):
    rng = random.Random(1)
    vocab = (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list("abcdefghijklmnopqrstuvwxyz0123456789.,!?'")
             + ["##" + c for c in "abcdefghijklmnopqrstuvwxyz"]
             + ["the", "cat", "dog", "sat", "on", "mat", "hello", "world", "##s", "##ing", "##ed", "un",
                "##able", "中", "文", "é", "café", "naïve", "[unused0]", "##é", "x", "y", "z"])
    vocab = list(dict.fromkeys(vocab))[:100]
    config = {"architectures": ["BertModel"], "model_type": "bert", "vocab_size": len(vocab), "hidden_size": D,
              "num_hidden_layers": 1, "num_attention_heads": HEADS, "intermediate_size": FFN,
              "max_position_embeddings": POSITIONS, "type_vocab_size": 2, "hidden_act": "gelu",
              "layer_norm_eps": 1e-12, "position_embedding_type": "absolute", "pad_token_id": 0,
              "hidden_dropout_prob": 0.1, "initializer_range": 0.02}
    files = {
        "config.json": config,
        "tokenizer_config.json": {"do_lower_case": True, "strip_accents": None, "tokenize_chinese_chars": True,
                                  "model_max_length": 512, "unk_token": "[UNK]", "cls_token": "[CLS]",
                                  "sep_token": "[SEP]", "pad_token": "[PAD]", "mask_token": "[MASK]",
                                  "tokenizer_class": "BertTokenizer"},
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}],
        "1_Pooling/config.json": {"word_embedding_dimension": D, "pooling_mode_cls_token": False,
                                  "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
                                  "pooling_mode_mean_sqrt_len_tokens": False},
        "sentence_bert_config.json": {"max_seq_length": 24, "do_lower_case": False},
    }
    for name, obj in files.items():
        write_json(os.path.join(out, name), obj)
    with open(os.path.join(out, "vocab.txt"), "w") as f:
        f.write("".join(t + "\n" for t in vocab))
    t = {"embeddings.word_embeddings.weight": random_tensor(rng, len(vocab), D),
         "embeddings.position_embeddings.weight": random_tensor(rng, POSITIONS, D),
         "embeddings.token_type_embeddings.weight": random_tensor(rng, 2, D)}
    t.update(layer_norm("embeddings.LayerNorm"))
    p = "encoder.layer.0"
    t.update(attention(rng, p, "attention.self.query", "attention.self.key", "attention.self.value",
                       "attention.output.dense"))
    t.update(layer_norm(p + ".attention.output.LayerNorm"))
    t.update(feed_forward(rng, p, "intermediate.dense", "output.dense", "output.LayerNorm"))
    write_safetensors(os.path.join(out, "model.safetensors"), t)
    tokenizer_json = {"version": "1.0", "added_tokens": [],
                      "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                                     "strip_accents": None, "lowercase": True},
                      "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                                "max_input_chars_per_word": 100, "vocab": {tok: i for i, tok in enumerate(vocab)}}}
    return files, tokenizer_json


def train_spm(work, name, vocab_size=60, **options):
    corpus = os.path.join(work, "spm_corpus.txt")
    rules = os.path.join(work, "spm_rules.tsv")
    with open(corpus, "w") as f:
        f.write("\n".join(SPM_TEXT * 20))
    with open(rules, "w") as f:
        f.write(SPM_RULES)
    spm.SentencePieceTrainer.train(input=corpus, model_prefix=os.path.join(work, name), vocab_size=vocab_size,
                                   model_type="unigram", normalization_rule_tsv=rules, character_coverage=1.0,
                                   num_threads=1, hard_vocab_limit=False, minloglevel=2, **options)
    return os.path.join(work, name + ".model")


def marian_checkpoint(out, work):
    rng = random.Random(2)
    model = train_spm(work, "tiny")
    sp = spm.SentencePieceProcessor(model_file=model)
    pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    vocab = ["</s>", "<unk>"] + [p for p in pieces if p not in ("<unk>", "<s>", "</s>")] + [">>fr<<", "<pad>"]
    n = len(vocab)
    pad = n - 1
    config = {"architectures": ["MarianMTModel"], "model_type": "marian", "vocab_size": n, "d_model": D,
              "encoder_layers": 1, "decoder_layers": 1, "encoder_attention_heads": HEADS,
              "decoder_attention_heads": HEADS, "encoder_ffn_dim": FFN, "decoder_ffn_dim": FFN,
              "max_position_embeddings": POSITIONS, "activation_function": "swish", "scale_embedding": True,
              "pad_token_id": pad, "eos_token_id": 0, "bos_token_id": 0, "decoder_start_token_id": pad,
              "normalize_before": False, "normalize_embedding": False, "add_final_layer_norm": False,
              "add_bias_logits": False, "static_position_embeddings": True, "bad_words_ids": [[pad]],
              "num_beams": 2, "max_length": 16, "share_encoder_decoder_embeddings": True}
    files = {
        "config.json": config,
        "generation_config.json": {"bad_words_ids": [[pad]], "bos_token_id": 0, "decoder_start_token_id": pad,
                                   "eos_token_id": 0, "forced_eos_token_id": 0, "max_length": 16,
                                   "num_beams": 2, "pad_token_id": pad, "length_penalty": 1.0,
                                   "early_stopping": True},
        "tokenizer_config.json": {"source_lang": "en", "target_lang": "fr", "model_max_length": 512,
                                  "separate_vocabs": False, "tokenizer_class": "MarianTokenizer"},
    }
    for name, obj in files.items():
        write_json(os.path.join(out, name), obj)
    write_json(os.path.join(out, "vocab.json"), {p: i for i, p in enumerate(vocab)})
    shutil.copy(model, os.path.join(out, "source.spm"))
    shutil.copy(model, os.path.join(out, "target.spm"))
    t = {"model.shared.weight": random_tensor(rng, n, D), "final_logits_bias": random_tensor(rng, 1, n)}
    for side in ("encoder", "decoder"):
        p = f"model.{side}.layers.0"
        t.update(attention(rng, p, "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                           "self_attn.out_proj"))
        t.update(layer_norm(p + ".self_attn_layer_norm"))
        if side == "decoder":
            t.update(attention(rng, p, "encoder_attn.q_proj", "encoder_attn.k_proj", "encoder_attn.v_proj",
                               "encoder_attn.out_proj"))
            t.update(layer_norm(p + ".encoder_attn_layer_norm"))
        t.update(feed_forward(rng, p, "fc1", "fc2", "final_layer_norm"))
    write_safetensors(os.path.join(out, "model.safetensors"), t)
    return files, model


# the keys that must match the tiny checkpoint's weights and vocabulary
SHAPE_KEYS = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
              "max_position_embeddings", "type_vocab_size", "d_model", "encoder_layers", "decoder_layers",
              "encoder_attention_heads", "decoder_attention_heads", "encoder_ffn_dim", "decoder_ffn_dim",
              "decoder_vocab_size", "pad_token_id", "eos_token_id", "bos_token_id", "decoder_start_token_id",
              "forced_eos_token_id", "bad_words_ids", "share_encoder_decoder_embeddings")


def tiny_shape(config, tiny):
    """A real config with the tiny checkpoint's shape and ids put in."""
    shaped = {k: v for k, v in config.items() if k not in SHAPE_KEYS}
    shaped.update({k: v for k, v in tiny.items() if k in SHAPE_KEYS and (k in config or k in tiny)})
    return shaped


def read_json(path):
    with open(path) as f:
        return json.load(f)


def write_seeds(out, bert_files, bert_tokenizer_json, marian_files, spm_model, work):
    seeds = os.path.join(out, "seeds")
    shutil.rmtree(seeds, ignore_errors=True)

    def seed(target, name, data):
        path = os.path.join(seeds, target, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data if isinstance(data, bytes) else json.dumps(data, indent=1).encode())

    # json: real config files, as they are
    real = sorted(glob.glob(os.path.join(ROOT, "models", "*", "*.json"))
                  + glob.glob(os.path.join(ROOT, "models", "*", "1_Pooling", "config.json"))
                  + glob.glob(os.path.join(TOKENIZERS, "*", "*.json"))
                  + glob.glob(os.path.join(TOKENIZERS, "*", "1_Pooling", "config.json")))
    for path in real:
        if os.path.getsize(path) < 8192:
            with open(path, "rb") as f:
                base = ROOT if path.startswith(ROOT + os.sep) else TOKENIZERS
                seed("json", os.path.relpath(path, base).replace("/", "_"), f.read())
    seed("json", "tiny_tokenizer.json", bert_tokenizer_json)

    # safetensors
    for name in ("bert", "marian"):
        with open(os.path.join(out, "models", name, "model.safetensors"), "rb") as f:
            seed("safetensors", name + ".safetensors", f.read())
    rng = random.Random(3)
    path = os.path.join(work, "mixed.safetensors")
    write_safetensors(path, {"a": random_tensor(rng, 3, 4), "b": random_tensor(rng, 5), "c": random_tensor(rng, 2, 2, 2)},
                      {"a": "F16", "b": "BF16"})
    with open(path, "rb") as f:
        seed("safetensors", "mixed.safetensors", f.read())
    raw = json.dumps({"__metadata__": {"format": "pt"}, "x": {"dtype": "I64", "shape": [2], "data_offsets": [0, 16]},
                      "e": {"dtype": "F32", "shape": [0, 3], "data_offsets": [16, 16]}}).encode()
    seed("safetensors", "metadata.safetensors", struct.pack("<Q", len(raw)) + raw + bytes(range(16)))

    # spm_model
    with open(spm_model, "rb") as f:
        seed("spm_model", "tiny.spm", f.read())
    for name, options in (("byte_fallback", {"byte_fallback": True, "vocab_size": 320}),
                          ("user_defined", {"user_defined_symbols": ["<sep>", "cat"], "control_symbols": ["<cls>"],
                                            "add_dummy_prefix": False, "remove_extra_whitespaces": False})):
        with open(train_spm(work, name, **options), "rb") as f:
            seed("spm_model", name + ".spm", f.read())

    # text targets: lines of the tokenizer corpora
    for target, corpus in (("spm_text", "spm_corpus.txt"), ("wordpiece", "wordpiece_corpus.txt")):
        with open(os.path.join(ROOT, "test", "data", corpus), "rb") as f:
            lines = [line for line in f.read().split(b"\n") if line]
        for i, line in enumerate(lines[::max(1, len(lines) // 40)][:40]):
            seed(target, "line%02d.txt" % i, line)

    # model_dir: bundles
    seed("model_dir", "bert.json", bert_files)
    seed("model_dir", "bert_tokenizer_json.json", dict(bert_files, **{"tokenizer.json": bert_tokenizer_json}))
    seed("model_dir", "marian.json", marian_files)
    seed("model_dir", "marian_no_generation_config.json", dict(marian_files, **{"generation_config.json": None}))
    tiny_bert, tiny_marian = bert_files["config.json"], marian_files["config.json"]
    embed = os.path.join(ROOT, "models", "bert-embed-en")
    if os.path.isdir(embed):
        bundle = {"config.json": tiny_shape(read_json(os.path.join(embed, "config.json")), tiny_bert)}
        for name in ("tokenizer_config.json", "modules.json", "1_Pooling/config.json", "sentence_bert_config.json"):
            bundle[name] = read_json(os.path.join(embed, name))
        seed("model_dir", "bert_embed_en.json", bundle)
    for directory in sorted(glob.glob(os.path.join(ROOT, "models", "marian-*"))
                            + glob.glob(os.path.join(TOKENIZERS, "opus-mt-*"))):
        bundle = {"config.json": tiny_shape(read_json(os.path.join(directory, "config.json")), tiny_marian)}
        for name in ("tokenizer_config.json", "generation_config.json"):
            if os.path.exists(os.path.join(directory, name)):
                bundle[name] = tiny_shape(read_json(os.path.join(directory, name)),
                                          marian_files["generation_config.json"])
        seed("model_dir", os.path.basename(directory) + ".json", bundle)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    work = os.path.join(args.out, "work")
    os.makedirs(work, exist_ok=True)
    models = os.path.join(args.out, "models")
    shutil.rmtree(models, ignore_errors=True)
    bert_files, bert_tokenizer_json = bert_checkpoint(os.path.join(models, "bert"))
    marian_files, spm_model = marian_checkpoint(os.path.join(models, "marian"), work)
    write_seeds(args.out, bert_files, bert_tokenizer_json, marian_files, spm_model, work)
    shutil.rmtree(work)
    print(f"wrote tiny checkpoints and seed corpora into {args.out}")


if __name__ == "__main__":
    main()
