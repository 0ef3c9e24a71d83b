#!/usr/bin/python3
"""Write random-weight Marian models in Hugging Face's exact directory layout,
with reference translations (greedy and beam) from marian.py + generate.py,
for the C engine's parity tests.

    /usr/bin/python3 test/reference/make_marian_fixtures.py --out test/fixtures [--only NAME]

Seeded and deterministic (numpy's PCG64 draws the weights).  Each fixture
directory holds config.json, model.safetensors,
source.spm, target.spm, vocab.json (+ target_vocab.json when the
vocabularies are separate), tokenizer_config.json (generation_config.json
unless the fixture tests its absence), and:

  sentences.txt  30 source sentences, one per line: first the edge cases
                 (an empty line, a ~170-piece line, accents, characters the
                 vocabularies lack, a tab and repeated spaces), then the
                 first Multi30k validation English sentences whose outputs
                 do not hinge on a near-tie (see margins below);
  reference.txt  three lines per sentence, in order:
                   src <source ids, </s> included>
                   greedy <generated ids>
                   beam <generated ids>
                 Source ids: marian_tokenizer.MarianTokenizer.encode with
                 truncation (pieces of source.spm through vocab.json, <unk>
                 for missing pieces, the first model_max_length - 1 kept,
                 </s> appended).  Generated ids: generate.py's output, i.e.
                 HF generate()'s row minus the decoder start token, up to and
                 including </s>; greedy with num_beams=1, beam with the
                 fixture's generation_config.json as it stands;
  translations.txt  per sentence, the beam output decoded to text as
                 MarianTokenizer.decode(skip_special_tokens=True) does
  margins.txt    after a comment line, per sentence "greedy G beam B": the
                 smallest gap between two scores whose order decides that
                 output (generate.Margins), so that a test can tell a
                 near-tie from a bug.

The fixtures:

  marian-ende-size  the size of Helsinki-NLP/opus-mt-en-de: d_model 512, 6+6
      layers, 8 heads, FFN 2048, swish, scale_embedding, one shared table
      tied to the output (stored once, as model.shared.weight), F16 weights,
      max_position_embeddings 512, with the real opus-mt-en-mg tokenizer files
      (54,688-entry vocab.json: </s> 0, <unk> 1, <pad> 54687 = last).
      config.json carries the legacy generation keys of a real opus-mt
      config (num_beams 4, max_length 512, ...); generation_config.json
      overrides them as HF does: num_beams 4, max_length 32, bad_words_ids
      [[pad]], forced_eos_token_id 0, renormalize_logits true (as the current
      opus-mt generation configs have it), early_stopping false.
  marian-odd  separate vocabularies (share_encoder_decoder_embeddings false,
      tie_word_embeddings false): vocab.json has 6,000 entries (</s> 0,
      <unk> 1, <pad> 2, then source.spm pieces), target_vocab.json 5,000
      (same three, then target.spm pieces); decoder_vocab_size 5,000, so
      lm_head.weight and final_logits_bias have 5,000 rows, while
      model.decoder.embed_tokens.weight has vocab_size = 6,000 rows because
      HF's MarianModel deep-copies one vocab_size table for each side (a
      [5000, 96] table would not load into MarianMTModel).  d_model 96, 3
      heads, 2 encoder and 3 decoder layers, FFN 200, gelu, no embedding
      scale, F32, nonzero final_logits_bias, max_position_embeddings 64 and
      model_max_length 64 (the long sentence is truncated to 63 pieces +
      </s>), num_beams 3, length_penalty 0.6, early_stopping "never",
      max_length 24, renormalize_logits false, no forced eos.
  marian-nogen, marian-genpartial  marian-odd's weights and tokenizer with
      other configurations, where options come from class defaults (see
      nogen_fixture and genpartial_fixture): no generation_config.json, and
      one that omits keys config.json sets.

Weights (random_weights) are scaled so that outputs vary with the source
and along the output (a copy loop of the tied table is avoided by a last
LayerNorm scale of random sign) and a bias on eos in final_logits_bias makes
some outputs end early while others run to max_length; the seeds were
chosen so that every edge case clears the margin.  A validation sentence
whose greedy or beam output is decided by a gap <= --min-margin (1e-3, some
hundred times the float32 noise between engines) is skipped, so a few
validation sentences are.  Edge cases are kept down to a tenth of that margin
(still some ten times the noise): the weights' exact values, and so the gaps,
move a little with the BLAS kernels the machine's CPU gets (OPENBLAS_CORETYPE),
and a fixed sentence cannot be swapped for another.  An edge case below that,
or a fixture without both early-ending and max_length outputs, fails the
script.  (The tie v4.46's stopping test made by construction, comparing a
candidate that just finished as the worst with itself, is gone in v4.57,
whose bound is the best beam that goes on.)
"""
import argparse
import json
import os
import shutil
import sys
import time

import numpy as np
import sentencepiece as spm
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from generate import Margins, generate, generation_options  # noqa: E402
from marian import MarianMT, load_checkpoint  # noqa: E402
from marian_tokenizer import MarianTokenizer  # noqa: E402
from repo_data import MARIAN_TOKENIZER as TOKENIZER, multi30k  # noqa: E402
from safetensors_io import write_safetensors  # noqa: E402

EOS = 0

EDGE_SENTENCES = [
    "",
    "Crème brûlée and café au lait in São Paulo: a naïve façade, Ångström, Zürich, El Niño.",
    "Unknown to the vocabulary: 日本語のテキスト, 😀🦜, ∮ E⋅da = Q, ☃ ǂ ʬ.",
    "Tabs\tand   repeated    spaces,  trailing too   ",
]
N_SENTENCES = 30


def candidate_sentences():
    """The edge cases (an empty line, a ~170-piece line made of validation
    sentences 100-111, accents, unknown characters, odd spacing), then the
    Multi30k validation English sentences in order."""
    val = multi30k("val.en")
    return EDGE_SENTENCES[:1] + [" ".join(val[100:112])] + EDGE_SENTENCES[1:], val


def marian_vocab(spm_path, size):
    """vocab.json layout with <pad> at 2: </s>, <unk>, <pad>, then the first
    pieces of the SentencePiece model (its own control pieces skipped)."""
    sp = spm.SentencePieceProcessor(model_file=spm_path)
    vocab = {"</s>": 0, "<unk>": 1, "<pad>": 2}
    for i in range(sp.get_piece_size()):
        if len(vocab) == size:
            break
        if not (sp.is_control(i) or sp.is_unknown(i)):
            vocab.setdefault(sp.id_to_piece(i), len(vocab))
    return vocab


def common_config(**kw):
    """A MarianConfig as HF's converter writes it, updated with kw."""
    cfg = {
        "architectures": ["MarianMTModel"], "model_type": "marian", "is_encoder_decoder": True,
        "activation_dropout": 0.0, "attention_dropout": 0.0, "dropout": 0.1,
        "encoder_layerdrop": 0.0, "decoder_layerdrop": 0.0, "init_std": 0.02,
        "normalize_before": False, "normalize_embedding": False, "add_final_layer_norm": False,
        "static_position_embeddings": True, "use_cache": True, "bos_token_id": 0, "eos_token_id": EOS,
        "forced_eos_token_id": EOS, "transformers_version": "4.46.0",
    }
    cfg.update(kw)
    cfg["num_hidden_layers"] = cfg["encoder_layers"]
    return cfg


def ende_fixture():
    """Spec of marian-ende-size (see the module docstring)."""
    with open(os.path.join(TOKENIZER, "vocab.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    pad = len(vocab) - 1
    cfg = common_config(
        vocab_size=len(vocab), decoder_vocab_size=len(vocab), d_model=512, encoder_layers=6,
        decoder_layers=6, encoder_attention_heads=8, decoder_attention_heads=8, encoder_ffn_dim=2048,
        decoder_ffn_dim=2048, activation_function="swish", scale_embedding=True,
        max_position_embeddings=512, pad_token_id=pad, decoder_start_token_id=pad,
        share_encoder_decoder_embeddings=True, tie_word_embeddings=True, torch_dtype="float16",
        bad_words_ids=[[pad]], num_beams=4, max_length=512)
    gen = {"bad_words_ids": [[pad]], "bos_token_id": 0, "decoder_start_token_id": pad, "eos_token_id": EOS,
           "forced_eos_token_id": EOS, "max_length": 32, "num_beams": 4, "pad_token_id": pad,
           "renormalize_logits": True, "transformers_version": "4.46.0"}
    tok = {"source_lang": "en", "target_lang": "de", "model_max_length": 512, "separate_vocabs": False,
           "unk_token": "<unk>", "eos_token": "</s>", "pad_token": "<pad>", "tokenizer_class": "MarianTokenizer"}
    return {"name": "marian-ende-size", "seed": 8, "config": cfg, "generation": gen, "tokenizer": tok,
            "vocab": vocab, "target_vocab": None, "dtype": "F16",
            # weight scales (random_weights); seed and eos_bias chosen so that every
            # edge case clears the margin and outputs both end early and run long
            "qk_gain": 4.0, "branch_gain": 0.5, "logit_std": 8.0, "eos_bias": 31.0, "bias_std": 0.0}


def odd_fixture():
    """Spec of marian-odd (see the module docstring)."""
    vocab = marian_vocab(os.path.join(TOKENIZER, "source.spm"), 6000)
    target_vocab = marian_vocab(os.path.join(TOKENIZER, "target.spm"), 5000)
    pad = 2
    cfg = common_config(
        vocab_size=len(vocab), decoder_vocab_size=len(target_vocab), d_model=96, encoder_layers=2,
        decoder_layers=3, encoder_attention_heads=3, decoder_attention_heads=3, encoder_ffn_dim=200,
        decoder_ffn_dim=200, activation_function="gelu", scale_embedding=False,
        max_position_embeddings=64, pad_token_id=pad, decoder_start_token_id=pad,
        share_encoder_decoder_embeddings=False, tie_word_embeddings=False, torch_dtype="float32")
    del cfg["forced_eos_token_id"]
    gen = {"bad_words_ids": [[pad]], "bos_token_id": 0, "decoder_start_token_id": pad, "eos_token_id": EOS,
           "max_length": 24, "num_beams": 3, "length_penalty": 0.6, "early_stopping": "never",
           "pad_token_id": pad, "transformers_version": "4.46.0"}
    tok = {"source_lang": "en", "target_lang": "mg", "model_max_length": 64, "separate_vocabs": True,
           "unk_token": "<unk>", "eos_token": "</s>", "pad_token": "<pad>", "tokenizer_class": "MarianTokenizer"}
    return {"name": "marian-odd", "seed": 2, "config": cfg, "generation": gen, "tokenizer": tok,
            "vocab": vocab, "target_vocab": target_vocab, "dtype": "F32",
            "qk_gain": 4.0, "branch_gain": 0.5, "logit_std": 8.0, "eos_bias": 20.0, "bias_std": 1.0}


def nogen_fixture():
    """Spec of marian-nogen: marian-odd's weights and files without
    generation_config.json, so generate() takes its options from config.json
    through MarianConfig, whose defaults fill what it omits: num_beams 3 and
    length_penalty 0.6 from config.json; forced_eos_token_id 0 (MarianConfig's
    default: outputs that reach the limit end in </s>), max_length 20 -> 21
    (PretrainedConfig's default, then generate()'s rule), no bad words."""
    spec = odd_fixture()
    spec["config"].update(num_beams=3, length_penalty=0.6)
    return dict(spec, name="marian-nogen", generation=None)


def genpartial_fixture():
    """Spec of marian-genpartial: marian-odd's weights with a
    generation_config.json that omits max_length, forced_eos_token_id and
    length_penalty, which then take GenerationConfig's defaults (20 -> 21,
    none, 1.0) although config.json sets max_length 40, forced_eos_token_id 0,
    num_beams 5 and length_penalty 2.0."""
    spec = odd_fixture()
    spec["config"].update(max_length=40, forced_eos_token_id=EOS, num_beams=5, length_penalty=2.0)
    gen = {"bad_words_ids": [[2]], "decoder_start_token_id": 2, "eos_token_id": EOS, "num_beams": 2,
           "pad_token_id": 2, "transformers_version": "4.57.0"}
    return dict(spec, name="marian-genpartial", generation=gen)


def random_weights(model, spec):
    """Fill the model from numpy's PCG64 seeded with spec['seed'], tensor by
    tensor in sorted HF-name order: linear weights N(0, gain^2 / fan_in)
    (qk_gain for q/k projections, branch_gain for out_proj and fc2, which
    keeps the residual stream dominant), biases and LayerNorm shifts
    N(0, 0.1^2), LayerNorm scales 1 + N(0, 0.1^2), embedding tables N(0, 1/d)
    (N(0, 1) without scale_embedding: unit entries after the scale either
    way, like the positions), lm_head N(0, 1/d) (unit rows, as the tables).
    Then the decoder's last LayerNorm scale becomes logit_std * N(0, 1), so
    logits have about that std and, its signs being random, the tied table
    does not favour repeating the input token; final_logits_bias is
    bias_std * N(0, 1) plus eos_bias on eos."""
    rng = np.random.default_rng(spec["seed"])
    cfg = spec["config"]
    params = dict(model.hf_embedding_tensors())
    for side, layers in (("encoder", model.encoder_layers), ("decoder", model.decoder_layers)):
        for i, layer in enumerate(layers):
            for name, p in layer.named_parameters():
                params[f"model.{side}.layers.{i}.{name}"] = p

    def normal(t):
        return torch.from_numpy(rng.standard_normal(tuple(t.shape), dtype=np.float32))

    with torch.no_grad():
        for name in sorted(params):
            p = params[name]
            if "layer_norm" in name:
                p.copy_(normal(p) * 0.1 + (1.0 if name.endswith("weight") else 0.0))
            elif name.endswith("bias"):
                p.copy_(normal(p) * 0.1)
            elif "embed_tokens" in name or name == "model.shared.weight":
                p.copy_(normal(p) * (cfg["d_model"] ** -0.5 if cfg["scale_embedding"] else 1.0))
            else:
                gain = spec["qk_gain"] if ("q_proj" in name or "k_proj" in name) else (
                    spec["branch_gain"] if ("out_proj" in name or "fc2" in name) else 1.0)
                p.copy_(normal(p) * gain / p.shape[1] ** 0.5)
        last = model.decoder_layers[-1].final_layer_norm.weight
        last.copy_(normal(last) * spec["logit_std"])
        model.final_logits_bias.copy_(normal(model.final_logits_bias) * spec["bias_std"])
        model.final_logits_bias[0, EOS] += spec["eos_bias"]


def write_fixture(spec, out_dir):
    """Write the model directory of one fixture."""
    os.makedirs(out_dir, exist_ok=True)
    model = MarianMT(spec["config"])
    random_weights(model, spec)
    write_safetensors(os.path.join(out_dir, "model.safetensors"), model.hf_state_dict(), dtype=spec["dtype"],
                      metadata={"format": "pt"})
    files = {"config.json": spec["config"], "tokenizer_config.json": spec["tokenizer"], "vocab.json": spec["vocab"]}
    if spec["generation"] is not None:
        files["generation_config.json"] = spec["generation"]
    if spec["target_vocab"] is not None:
        files["target_vocab.json"] = spec["target_vocab"]
    for name, obj in files.items():
        with open(os.path.join(out_dir, name), "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=2, ensure_ascii=False)
            f.write("\n")
    for name in ("source.spm", "target.spm"):
        shutil.copyfile(os.path.join(TOKENIZER, name), os.path.join(out_dir, name))


def translate(model, sources, opts):
    """Generate for a batch -> (outputs, smallest deciding gap per source)."""
    margins = Margins(len(sources))
    return generate(model, sources, opts, margins), margins.min


def make_reference(spec, out_dir, min_margin, batch_size):
    """Translate sentences with the stored model, greedy and beam, keeping the
    edge cases and the first validation sentences whose deciding gaps all
    exceed min_margin (a sentence whose output hinges on a nearer tie would
    make the parity test flaky), until N_SENTENCES; write sentences.txt,
    reference.txt and margins.txt; print the gaps.  False if a check fails."""
    model = load_checkpoint(out_dir)
    tokenizer = MarianTokenizer(out_dir)
    beam_opts = generation_options(out_dir)
    greedy_opts = generation_options(out_dir, num_beams=1)
    edge, pool = candidate_sentences()
    kept, rejected, ok = [], 0, True
    t0 = time.time()
    queue = [(s, True) for s in edge] + [(s, False) for s in pool]
    while len(kept) < N_SENTENCES and queue:
        n = min(batch_size, N_SENTENCES - len(kept))
        batch, queue = queue[:n], queue[n:]
        sources = [tokenizer.encode(s, truncation=True) for s, _ in batch]
        greedy, greedy_gap = translate(model, sources, greedy_opts)
        beam, beam_gap = translate(model, sources, beam_opts)
        for (sentence, is_edge), src, g, b, gg, bg in zip(batch, sources, greedy, beam, greedy_gap, beam_gap):
            if min(gg, bg) > (min_margin / 10 if is_edge else min_margin):
                kept.append((sentence, src, g, b, gg, bg))
            elif is_edge:
                print(f"  edge case {sentence[:40]!r} decided by a gap of {min(gg, bg):.5f}")
                ok = False
            else:
                rejected += 1
    with open(os.path.join(out_dir, "sentences.txt"), "w", encoding="utf-8") as f:
        f.writelines(k[0] + "\n" for k in kept)
    with open(os.path.join(out_dir, "reference.txt"), "w", encoding="utf-8") as f:
        for _, src, g, b, _, _ in kept:
            for tag, ids in (("src", src), ("greedy", g), ("beam", b)):
                f.write(" ".join([tag] + [str(i) for i in ids]) + "\n")
    with open(os.path.join(out_dir, "translations.txt"), "w", encoding="utf-8") as f:
        f.writelines(tokenizer.decode(k[3]) + "\n" for k in kept)
    with open(os.path.join(out_dir, "margins.txt"), "w", encoding="utf-8") as f:
        f.write("# per sentence: smallest gap between two scores that decide the greedy / beam output\n")
        f.writelines(f"greedy {k[4]:.6f} beam {k[5]:.6f}\n" for k in kept)
    print(f"{spec['name']}: {time.time() - t0:.1f}s, {len(kept)} sentences kept, "
          f"{rejected} validation sentences skipped for a deciding gap <= {min_margin}")
    print("   #  src  greedy  beam   (e: ends in eos)  smallest gap greedy / beam")
    for i, (_, src, g, b, gg, bg) in enumerate(kept):
        print(f"  {i:2d} {len(src):4d} {len(g):6d}{'e' if g[-1:] == [EOS] else ' '} {len(b):4d}"
              f"{'e' if b[-1:] == [EOS] else ' '}   {gg:.4f} / {bg:.4f}")
    ok &= len(kept) == N_SENTENCES
    limit = beam_opts.max_length - 1
    for tag, outs in (("greedy", [k[2] for k in kept]), ("beam", [k[3] for k in kept])):
        early = sum(len(o) < limit for o in outs)
        print(f"  {tag}: {early} end before max_length, {len(outs) - early} reach it, "
              f"{len({tuple(o) for o in outs})} distinct outputs")
        ok &= 0 < early < len(outs)
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="directory for the fixture directories")
    specs = (ende_fixture(), odd_fixture(), nogen_fixture(), genpartial_fixture())
    ap.add_argument("--only", choices=[spec["name"] for spec in specs], help="write one fixture")
    ap.add_argument("--min-margin", type=float, default=1e-3, help="smallest deciding score gap kept")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (more only help an idle machine: the batches are small)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    ok = True
    for spec in specs:
        if args.only and spec["name"] != args.only:
            continue
        out_dir = os.path.join(args.out, spec["name"])
        write_fixture(spec, out_dir)
        ok &= make_reference(spec, out_dir, args.min_margin, args.batch_size)
    if not ok:
        sys.exit("fixture checks failed (see above)")


if __name__ == "__main__":
    main()
