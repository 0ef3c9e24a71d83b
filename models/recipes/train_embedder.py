#!/usr/bin/python3
"""Train the shipped English sentence embedder (BERT architecture, the real
bert-base-uncased WordPiece vocabulary) from scratch, on CPU, and export it
in the sentence-transformers layout.

    /usr/bin/python3 models/recipes/train_embedder.py --out /work/train/embedder-out \
        --work /work/train/embedder --data DIR [--threads 1]

--data is the training data directory (not in the repository): multi30k/
task1 and task2 and stsbenchmark/sts-train.csv, laid out as the project's
shared data directory. The tokenizer files and STS dev come from test/data.

Stages (all step counts fixed, so a run is reproducible for a seed):
  a. masked-language modelling (15% of pieces; 80% [MASK], 10% random,
     10% kept) on English text: Multi30k task 1 train/val, task 2 train/val
     captions, STS Benchmark train sentences;
  b. contrastive training on paraphrase pairs, two of the five English
     captions of a Multi30k task 2 image, with in-batch negatives (a
     symmetric MultipleNegativesRanking loss over scaled cosine similarity
     of mean-pooled embeddings);
  c. CoSENT loss on the STS Benchmark train split (pairs ordered by gold).
Neither Multi30k test_2016 nor STS dev is trained on; STS dev is only
reported (in the log, after each stage), never used to choose anything.

Seeded and resumable: the state (model, optimizer, stage, step, RNG) is
saved to --work every --save-every steps and at the end of each stage; a
restarted run continues from it. The export (--out) holds config.json
(BertForMaskedLM), model.safetensors (F16, bert.* plus cls.predictions.*),
the real bert-base-uncased tokenizer files, modules.json (Transformer,
Pooling, Normalize), 1_Pooling/config.json (mean), 2_Normalize/,
sentence_bert_config.json and config_sentence_transformers.json.
"""
import argparse
import json
import math
import os
import random
import shutil
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "test", "reference"))
from bert import BertForMaskedLM, masked_lm_state_dict, pad_batch, pool  # noqa: E402
from bert_tokenizer import BertTokenizer  # noqa: E402
from safetensors_io import write_safetensors  # noqa: E402
from eval_sts import spearman  # noqa: E402
from repo_data import BERT_TOKENIZER as TOKENIZER, read_gz_lines, read_sts  # noqa: E402

DEVICE = torch.device("cpu")  # set by --device

STAGES = ("mlm", "pairs", "sts", "done")


def load_data(tok, max_len, data, work):
    """Tokenized corpora from the training data directory `data`, cached in --work:
    mlm: list of id lists; captions: list (per image) of 5 id lists;
    sts: list of (ids_a, ids_b, gold)."""
    cache = os.path.join(work, "data.pt")
    if os.path.exists(cache):
        return torch.load(cache)
    enc = lambda lines: [tok.encode(s, max_len) for s in lines]
    read_gz = lambda *parts: read_gz_lines(os.path.join(data, *parts))
    captions = []
    for split in ("train", "val"):
        cols = [read_gz("multi30k", "task2", f"{split}.{n}.en.gz") for n in range(1, 6)]
        captions += [list(group) for group in zip(*cols)]
    sts = read_sts(os.path.join(data, "stsbenchmark", "sts-train.csv"))
    text = read_gz("multi30k", "task1", "train.en.gz") + read_gz("multi30k", "task1", "val.en.gz")
    text += [c for group in captions for c in group] + [s for a, b, _ in sts for s in (a, b)]
    text = sorted(set(t for t in text if t.strip()))
    data = {
        "mlm": enc(text),
        "captions": [enc(group) for group in captions],
        "sts": [(tok.encode(a, max_len), tok.encode(b, max_len), g) for a, b, g in sts],
    }
    torch.save(data, cache)
    return data


def config(args):
    """config.json of the exported model (BertForMaskedLM)."""
    with open(os.path.join(TOKENIZER, "config.json")) as f:
        cfg = json.load(f)
    cfg.update({
        "architectures": ["BertForMaskedLM"], "hidden_size": args.hidden,
        "num_hidden_layers": args.layers, "num_attention_heads": args.heads,
        "intermediate_size": args.ffn, "max_position_embeddings": args.max_pos,
        "hidden_dropout_prob": args.dropout, "attention_probs_dropout_prob": args.dropout,
        "tie_word_embeddings": True, "torch_dtype": "float16",
    })
    cfg.pop("dtype", None)
    return cfg


def init_weights(model, std=0.02):
    """HF BERT init: normal(0, std) weights, zero biases, unit LayerNorms."""
    for name, p in model.named_parameters():
        with torch.no_grad():
            if "LayerNorm.weight" in name:
                p.fill_(1.0)
            elif name.endswith("bias"):
                p.zero_()
            else:
                p.normal_(0.0, std)


def mask_tokens(ids, mask, tok, rng, prob=0.15):
    """BERT masking on ids [B, T] (special tokens and padding never chosen)
    -> corrupted ids [B, T], labels [B, T] (-100 where not predicted)."""
    special = (ids == tok.cls_id) | (ids == tok.sep_id) | (mask == 0)
    chosen = (torch.rand(ids.shape, generator=rng) < prob) & ~special
    labels = torch.where(chosen, ids, torch.full_like(ids, -100))
    roll = torch.rand(ids.shape, generator=rng)
    out = ids.clone()
    out[chosen & (roll < 0.8)] = tok.mask_id
    rand = chosen & (roll >= 0.8) & (roll < 0.9)
    out[rand] = torch.randint(1000, len(tok.vocab), ids.shape, generator=rng)[rand]
    return out, labels


def mlm_loss(model, batch, tok, rng):
    ids, mask = pad_batch(batch, tok.pad_id)
    inp, labels = mask_tokens(ids, mask, tok, rng)  # drawn on the CPU: same on any device
    h = model(inp.to(DEVICE), mask.to(DEVICE))
    labels = labels.to(DEVICE)
    sel = labels != -100
    return F.cross_entropy(model.mlm_logits(h[sel]), labels[sel])


def embed(model, batch, pad_id):
    """id lists -> mean-pooled embeddings [B, d] (with gradients)."""
    ids, mask = pad_batch(batch, pad_id)
    ids, mask = ids.to(DEVICE), mask.to(DEVICE)
    return pool(model(ids, mask), mask, "mean")


def pairs_loss(model, groups, pad_id, rng, scale):
    """Symmetric in-batch-negatives loss on two distinct captions per image."""
    a, b = [], []
    for g in groups:
        i, j = torch.randperm(len(g), generator=rng)[:2].tolist()
        a.append(g[i])
        b.append(g[j])
    e = F.normalize(embed(model, a + b, pad_id), dim=-1)
    scores = scale * e[: len(a)] @ e[len(a):].T
    target = torch.arange(len(a), device=DEVICE)
    return (F.cross_entropy(scores, target) + F.cross_entropy(scores.T, target)) / 2


def cosent_loss(model, batch, pad_id, scale):
    """CoSENT: log(1 + sum over gold_i > gold_j of exp(scale (cos_j - cos_i)))."""
    e = F.normalize(embed(model, [x[0] for x in batch] + [x[1] for x in batch], pad_id), dim=-1)
    cos = (e[: len(batch)] * e[len(batch):]).sum(-1) * scale
    gold = torch.tensor([x[2] for x in batch], device=DEVICE)
    diff = cos[None, :] - cos[:, None]  # [i, j] = cos_j - cos_i
    diff = diff[gold[:, None] > gold[None, :]]
    return torch.logsumexp(torch.cat([torch.zeros(1, device=DEVICE), diff]), 0)


@torch.no_grad()
def sts_dev(model, tok, max_len):
    """Spearman of cosine vs gold on STS dev (reported only)."""
    model.eval()
    dev = read_sts()
    cos = []
    for i in range(0, len(dev), 128):
        part = dev[i: i + 128]
        e = F.normalize(embed(model.bert, [tok.encode(x[0], max_len) for x in part]
                              + [tok.encode(x[1], max_len) for x in part], tok.pad_id), dim=-1)
        cos += (e[: len(part)] * e[len(part):]).sum(-1).tolist()
    model.train()
    return spearman(cos, [x[2] for x in dev])


def batches_by_length(items, length, size, rng):
    """Shuffled batches of `size` items of similar length (less padding)."""
    order = sorted(range(len(items)), key=lambda i: (length(items[i]), rng.random()))
    out = [order[i: i + size] for i in range(0, len(order), size)]
    rng.shuffle(out)
    return out


def linear_schedule(step, total, warmup):
    """Linear warm-up then linear decay to zero."""
    return min((step + 1) / warmup, max(0.0, (total - step) / max(1, total - warmup)))


def export(args, cfg, model):
    """Write the sentence-transformers directory to --out."""
    out = args.out
    os.makedirs(os.path.join(out, "1_Pooling"), exist_ok=True)
    os.makedirs(os.path.join(out, "2_Normalize"), exist_ok=True)
    write_safetensors(os.path.join(out, "model.safetensors"), masked_lm_state_dict(model),
                      dtype="F16", metadata={"format": "pt"})
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    for name in ("vocab.txt", "tokenizer.json", "special_tokens_map.json",
                 "modules.json", "config_sentence_transformers.json"):
        shutil.copyfile(os.path.join(TOKENIZER, name), os.path.join(out, name))
    with open(os.path.join(TOKENIZER, "tokenizer_config.json")) as f:
        tc = json.load(f)
    tc["model_max_length"] = args.max_len
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump(tc, f, indent=2)
    with open(os.path.join(TOKENIZER, "1_Pooling", "config.json")) as f:
        pc = json.load(f)
    pc["word_embedding_dimension"] = cfg["hidden_size"]
    with open(os.path.join(out, "1_Pooling", "config.json"), "w") as f:
        json.dump(pc, f, indent=4)
    with open(os.path.join(out, "sentence_bert_config.json"), "w") as f:
        json.dump({"max_seq_length": args.max_len, "do_lower_case": False}, f, indent=4)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--data", required=True, help="training data directory (multi30k/, stsbenchmark/)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu", help="cpu, or cuda where a GPU is at hand")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ffn", type=int, default=1024)
    ap.add_argument("--max-pos", type=int, default=512)
    ap.add_argument("--max-len", type=int, default=128, help="max_seq_length of the export")
    ap.add_argument("--train-len", type=int, default=64, help="truncation of training sentences")
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--mlm-steps", type=int, default=700)
    ap.add_argument("--mlm-batch", type=int, default=128)
    ap.add_argument("--mlm-lr", type=float, default=5e-4)
    ap.add_argument("--pair-steps", type=int, default=1100)
    ap.add_argument("--pair-batch", type=int, default=64)
    ap.add_argument("--pair-lr", type=float, default=3e-4)
    ap.add_argument("--pair-scale", type=float, default=20.0)
    ap.add_argument("--sts-epochs", type=int, default=3)
    ap.add_argument("--sts-batch", type=int, default=32)
    ap.add_argument("--sts-lr", type=float, default=1e-4)
    ap.add_argument("--save-every", type=int, default=250)
    args = ap.parse_args()

    global DEVICE
    DEVICE = torch.device(args.device)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.work, exist_ok=True)
    t_start = time.time()
    tok = BertTokenizer.from_dir(TOKENIZER)
    data = load_data(tok, args.train_len, args.data, args.work)
    print(f"data: {len(data['mlm'])} MLM sentences, {len(data['captions'])} caption groups, "
          f"{len(data['sts'])} STS train pairs ({time.time() - t_start:.0f}s)", flush=True)
    cfg = config(args)
    model = BertForMaskedLM(cfg)
    init_weights(model)
    sts_steps = args.sts_epochs * math.ceil(len(data["sts"]) / args.sts_batch)
    plan = {"mlm": (args.mlm_steps, args.mlm_lr), "pairs": (args.pair_steps, args.pair_lr),
            "sts": (sts_steps, args.sts_lr)}
    state = {"stage": "mlm", "step": 0, "opt": None}
    ckpt = os.path.join(args.work, "last.pt")
    if os.path.exists(ckpt):
        state = torch.load(ckpt, map_location="cpu")
        model.load_state_dict(state["model"])
        torch.set_rng_state(state["torch_rng"])
        print(f"resumed at stage {state['stage']} step {state['step']}", flush=True)

    def save():
        state["model"] = model.state_dict()
        state["torch_rng"] = torch.get_rng_state()
        torch.save(state, ckpt + ".tmp")
        os.replace(ckpt + ".tmp", ckpt)

    model.to(DEVICE)
    model.train()
    while state["stage"] != "done":
        stage = state["stage"]
        total, lr = plan[stage]
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
        if state["opt"] is not None:
            opt.load_state_dict(state["opt"])
        # batches come from epoch-seeded permutations, so a resumed run sees
        # the same batches as an uninterrupted one (masking draws may differ)
        rng = torch.Generator().manual_seed(args.seed * 7919 + STAGES.index(stage) * 104729 + state["step"])
        t0, loss_sum, n = time.time(), 0.0, 0
        epoch_batches, epoch = None, -1
        while state["step"] < total:
            step = state["step"]
            if stage == "mlm":
                per_epoch = len(data["mlm"]) // args.mlm_batch
                items, size, length = data["mlm"], args.mlm_batch, len
            elif stage == "pairs":
                per_epoch = len(data["captions"]) // args.pair_batch
                items, size, length = data["captions"], args.pair_batch, lambda g: max(map(len, g))
            else:
                per_epoch = math.ceil(len(data["sts"]) / args.sts_batch)
                items, size, length = data["sts"], args.sts_batch, lambda x: 0
            if step // per_epoch != epoch:
                epoch = step // per_epoch
                erng = random.Random(args.seed * 1000 + STAGES.index(stage) * 100 + epoch)
                epoch_batches = batches_by_length(items, length, size, erng)
            batch = [items[i] for i in epoch_batches[step % per_epoch]]
            for g in opt.param_groups:
                g["lr"] = lr * linear_schedule(step, total, max(1, total // 10))
            if stage == "mlm":
                loss = mlm_loss(model, batch, tok, rng)
            elif stage == "pairs":
                loss = pairs_loss(model.bert, batch, tok.pad_id, rng, args.pair_scale)
            else:
                loss = cosent_loss(model.bert, batch, tok.pad_id, 20.0)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            state["step"] += 1
            loss_sum, n = loss_sum + loss.item(), n + 1
            if state["step"] % 50 == 0:
                print(f"{stage} step {state['step']}/{total} loss {loss_sum / n:.4f} "
                      f"{(time.time() - t0) / n:.2f}s/step elapsed {(time.time() - t_start) / 60:.1f}min",
                      flush=True)
                loss_sum, n = 0.0, 0
                t0 = time.time()
            if state["step"] % args.save_every == 0:
                state["opt"] = opt.state_dict()
                save()
        print(f"== stage {stage} done; STS dev Spearman (reporting only, not used for any choice): "
              f"{sts_dev(model, tok, args.max_len):.4f}  elapsed {(time.time() - t_start) / 60:.1f}min",
              flush=True)
        state.update(stage=STAGES[STAGES.index(stage) + 1], step=0, opt=None)
        save()

    model.eval()
    export(args, cfg, model)
    print(f"exported to {args.out}; total {(time.time() - t_start) / 60:.1f}min", flush=True)


if __name__ == "__main__":
    main()
