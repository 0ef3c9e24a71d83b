#!/usr/bin/python3
"""Train the shipped English->German translator (Marian architecture) on
Multi30k task 1 and export it in Hugging Face's MarianMTModel layout.

    /usr/bin/python3 models/recipes/train_translator.py --out models/opus-mt-tiny-en-de \
        --work /tmp/translator-work --data DIR [--threads 2] [--hours 2.5] [--device cuda]

--data is the training data directory (not in the repository); the recipe
reads multi30k/task1/{train,val}.{en,de}.gz from it.

Seeded and resumable: every epoch writes a checkpoint to --work, and a
restarted run continues from the last one. The export (config.json,
generation_config.json, model.safetensors in F16, source.spm, target.spm,
vocab.json, tokenizer_config.json) averages the last --average epochs.
"""
import argparse
import json
import math
import os
import random
import shutil
import sys
import time

import sentencepiece as spm
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "test", "reference"))
from marian import MarianMT  # noqa: E402
from repo_data import read_gz_lines  # noqa: E402
from safetensors_io import write_safetensors  # noqa: E402


def read_task1(data, name):
    """Lines of multi30k/task1/<name>.gz in the training data directory."""
    return read_gz_lines(os.path.join(data, "multi30k", "task1", name + ".gz"))


def train_sentencepiece(work, vocab_size, data):
    """One joint unigram model for English and German (shipped as both
    source.spm and target.spm, so embeddings can be shared and tied)."""
    prefix = os.path.join(work, "spm")
    if not os.path.exists(prefix + ".model"):
        text = os.path.join(work, "spm-train.txt")
        with open(text, "w", encoding="utf-8") as f:
            for line in read_task1(data, "train.en") + read_task1(data, "train.de"):
                f.write(line + "\n")
        spm.SentencePieceTrainer.train(
            input=text, model_prefix=prefix, vocab_size=vocab_size, model_type="unigram",
            character_coverage=1.0, normalization_rule_name="nmt_nfkc", num_threads=1,
            seed_sentencepiece_size=200000, shuffle_input_sentence=False,
            unk_id=0, bos_id=-1, eos_id=1, pad_id=-1)
    return spm.SentencePieceProcessor(model_file=prefix + ".model")


def marian_vocab(sp):
    """vocab.json as opus-mt lays it out: </s>=0, <unk>=1, the pieces, <pad> last."""
    vocab = {"</s>": 0, "<unk>": 1}
    for i in range(sp.get_piece_size()):
        piece = sp.id_to_piece(i)
        if piece not in vocab:
            vocab[piece] = len(vocab)
    vocab["<pad>"] = len(vocab)
    return vocab


def encode(sp, vocab, lines, max_len):
    """Text -> Marian ids (pieces through vocab.json, </s> appended)."""
    out = []
    for pieces in sp.encode(lines, out_type=str):
        ids = [vocab.get(p, 1) for p in pieces][: max_len - 1]
        out.append(ids + [0])
    return out


def batches(pairs, max_tokens, rng):
    """Length-bucketed batches of about max_tokens (source + target) tokens."""
    order = sorted(range(len(pairs)), key=lambda i: (len(pairs[i][0]), len(pairs[i][1]), rng.random()))
    out, cur, longest = [], [], 0
    for i in order:
        longest = max(longest, len(pairs[i][0]) + len(pairs[i][1]))
        if cur and longest * (len(cur) + 1) > max_tokens:
            out.append(cur)
            cur, longest = [], len(pairs[i][0]) + len(pairs[i][1])
        cur.append(i)
    if cur:
        out.append(cur)
    rng.shuffle(out)
    return out


def collate(pairs, idx, pad, device):
    """-> src [B, S], decoder input [B, T] (pad as start), labels [B, T]."""
    src_len = max(len(pairs[i][0]) for i in idx)
    tgt_len = max(len(pairs[i][1]) for i in idx)
    src = torch.full((len(idx), src_len), pad, dtype=torch.long)
    tin = torch.full((len(idx), tgt_len), pad, dtype=torch.long)
    lab = torch.full((len(idx), tgt_len), -100, dtype=torch.long)
    for r, i in enumerate(idx):
        s, t = pairs[i]
        src[r, : len(s)] = torch.tensor(s)
        tin[r, 0] = pad
        tin[r, 1: len(t)] = torch.tensor(t[:-1])
        lab[r, : len(t)] = torch.tensor(t)
    return src.to(device), tin.to(device), lab.to(device)


def config(args, vocab_size):
    pad = vocab_size - 1
    return {
        "architectures": ["MarianMTModel"], "model_type": "marian",
        "vocab_size": vocab_size, "decoder_vocab_size": vocab_size,
        "d_model": args.d_model, "encoder_layers": args.layers, "decoder_layers": args.layers,
        "encoder_attention_heads": args.heads, "decoder_attention_heads": args.heads,
        "encoder_ffn_dim": args.ffn, "decoder_ffn_dim": args.ffn,
        "activation_function": "swish", "scale_embedding": True, "static_position_embeddings": True,
        "normalize_before": False, "normalize_embedding": False, "add_final_layer_norm": False,
        "max_position_embeddings": 256, "share_encoder_decoder_embeddings": True,
        "tie_word_embeddings": True, "dropout": args.dropout, "attention_dropout": 0.0,
        "activation_dropout": 0.0, "pad_token_id": pad, "eos_token_id": 0,
        "decoder_start_token_id": pad, "forced_eos_token_id": 0, "bad_words_ids": [[pad]],
        "num_beams": 4, "max_length": 256, "is_encoder_decoder": True, "torch_dtype": "float16",
    }


def evaluate(model, pairs, pad, device):
    """Mean per-token cross-entropy on `pairs` (no label smoothing)."""
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(pairs), 64):
            src, tin, lab = collate(pairs, list(range(i, min(i + 64, len(pairs)))), pad, device)
            logits = model(src, tin)
            total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), lab.reshape(-1),
                                     ignore_index=-100, reduction="sum").item()
            count += (lab != -100).sum().item()
    model.train()
    return total / count


def export(args, cfg, state, sp_prefix, vocab):
    os.makedirs(args.out, exist_ok=True)
    model = MarianMT(cfg)
    model.load_state_dict(state)
    sd = model.hf_state_dict()
    write_safetensors(os.path.join(args.out, "model.safetensors"), sd, dtype="F16",
                      metadata={"format": "pt"})
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    gen = {"bad_words_ids": [[cfg["pad_token_id"]]], "decoder_start_token_id": cfg["pad_token_id"],
           "eos_token_id": 0, "forced_eos_token_id": 0, "max_length": 256, "num_beams": 4,
           "pad_token_id": cfg["pad_token_id"]}
    with open(os.path.join(args.out, "generation_config.json"), "w") as f:
        json.dump(gen, f, indent=2)
    with open(os.path.join(args.out, "vocab.json"), "w") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(args.out, "tokenizer_config.json"), "w") as f:
        json.dump({"source_lang": "en", "target_lang": "de", "model_max_length": 256,
                   "tokenizer_class": "MarianTokenizer"}, f)
    shutil.copy(sp_prefix + ".model", os.path.join(args.out, "source.spm"))
    shutil.copy(sp_prefix + ".model", os.path.join(args.out, "target.spm"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--data", required=True, help="training data directory (multi30k/task1/)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--hours", type=float, default=2.5, help="stop training after this long")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--vocab", type=int, default=8000)
    ap.add_argument("--d-model", type=int, default=256)
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ffn", type=int, default=1024)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=800)
    ap.add_argument("--max-tokens", type=int, default=6000)
    ap.add_argument("--average", type=int, default=5, help="average the last N epoch checkpoints")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.work, exist_ok=True)
    sp = train_sentencepiece(args.work, args.vocab, args.data)
    vocab = marian_vocab(sp)
    cfg = config(args, len(vocab))
    pad = cfg["pad_token_id"]
    train = list(zip(encode(sp, vocab, read_task1(args.data, "train.en"), 128),
                     encode(sp, vocab, read_task1(args.data, "train.de"), 128)))
    val = list(zip(encode(sp, vocab, read_task1(args.data, "val.en"), 128),
                   encode(sp, vocab, read_task1(args.data, "val.de"), 128)))

    model = MarianMT(cfg).to(args.device)
    for name, p in model.named_parameters():
        if p.dim() > 1:
            torch.nn.init.xavier_uniform_(p)
    with torch.no_grad():
        model.shared.weight.normal_(0, cfg["d_model"] ** -0.5)
        model.shared.weight[pad].zero_()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.98), eps=1e-9)
    sched = lambda step: min((step + 1) / args.warmup, math.sqrt(args.warmup / (step + 1)))
    step, epoch, history = 0, 0, []
    ckpt = os.path.join(args.work, "last.pt")
    if os.path.exists(ckpt):
        saved = torch.load(ckpt)
        model.load_state_dict(saved["model"])
        opt.load_state_dict(saved["opt"])
        step, epoch, history = saved["step"], saved["epoch"], saved["history"]
        print(f"resumed at epoch {epoch} step {step}", flush=True)

    start = time.time()
    while epoch < args.epochs and time.time() - start < args.hours * 3600:
        rng = random.Random(args.seed * 1000 + epoch)
        model.train()
        t0, seen_tok, loss_sum = time.time(), 0, 0.0
        for idx in batches(train, args.max_tokens, rng):
            src, tin, lab = collate(train, idx, pad, args.device)
            for g in opt.param_groups:
                g["lr"] = args.lr * sched(step)
            logits = model(src, tin)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), lab.reshape(-1),
                                   ignore_index=-100, label_smoothing=0.1)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            ntok = (lab != -100).sum().item()
            seen_tok += ntok
            loss_sum += loss.item() * ntok
            if step % 50 == 0:
                print(f"epoch {epoch} step {step} loss {loss_sum / seen_tok:.3f} "
                      f"{seen_tok / (time.time() - t0):.0f} tgt tok/s", flush=True)
        epoch += 1
        val_loss = evaluate(model, val, pad, args.device)
        history.append(val_loss)
        print(f"== epoch {epoch} done in {time.time() - t0:.0f}s, train {loss_sum / seen_tok:.3f}, "
              f"val loss {val_loss:.3f} ppl {math.exp(val_loss):.2f}", flush=True)
        state = {k: v.cpu() for k, v in model.state_dict().items()}
        torch.save(state, os.path.join(args.work, f"epoch{epoch}.pt"))
        torch.save({"model": state, "opt": opt.state_dict(), "step": step, "epoch": epoch,
                    "history": history}, ckpt + ".tmp")
        os.replace(ckpt + ".tmp", ckpt)

    # average the last N epochs' weights (a standard, cheap gain in BLEU)
    last = list(range(max(1, epoch - args.average + 1), epoch + 1))
    states = [torch.load(os.path.join(args.work, f"epoch{e}.pt")) for e in last]
    avg = {k: sum(s[k].float() for s in states) / len(states) for k in states[0]}
    model.load_state_dict(avg)
    print(f"averaged epochs {last}: val loss {evaluate(model, val, pad, args.device):.3f}", flush=True)
    export(args, cfg, {k: v.cpu() for k, v in model.state_dict().items()}, os.path.join(args.work, "spm"), vocab)
    print(f"exported to {args.out}", flush=True)


if __name__ == "__main__":
    main()
