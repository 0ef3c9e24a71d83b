#!/usr/bin/python3
"""Retrain the masked-language-model head (cls.predictions) of a BERT
checkpoint on its final, frozen encoder, and write the checkpoint back with
every other tensor byte for byte as it was.

    /usr/bin/python3 models/recipes/train_mlm_head.py --model models/bert-embed-en \
        --data DIR --work /tmp/fillmask-work [--out DIR] [--threads 1]

Why: train_embedder.py trains the head in its masked-LM stage only, then
keeps training the encoder on paraphrases and STS; the head no longer fits
the encoder it sits on. Retraining only the head leaves the encoder, hence
embed() and the STS scores, exactly as they are.

--data is the training data directory (not in the repository): the English
captions of Multi30k task 1 (multi30k/task1/train.en.gz, val.en.gz).
Evaluation uses the 1,000 captions of test_2016_flickr in test/data, which
neither the embedder nor this recipe trains on.

Method (seeded, so a run is reproducible):
  1. mask 15% of the pieces of each training caption ([CLS]/[SEP] never;
     all chosen pieces become [MASK], which is what fill_mask() is asked),
     --passes times with different draws, and run the frozen encoder once
     over them (no dropout), keeping the final hidden state and the original
     id of each masked piece: the features, cached in --work;
  2. train cls.predictions.transform.dense, its LayerNorm and
     cls.predictions.bias on those features with cross-entropy over the
     vocabulary; the decoder stays tied to the frozen word embeddings;
     AdamW, linear warm-up and decay, starting from the old head;
     a checkpoint in --work after each epoch (a restarted run resumes);
  3. write model.safetensors to --out (default: --model): the head tensors
     replaced, in the checkpoint's own dtype, every other tensor's bytes
     copied unchanged from the input file; then check that.
Masked-token accuracy (top-1, top-5) on the held-out captions is printed
before and after, measured on the weights as stored (F16 for the shipped
model).
"""
import argparse
import json
import os
import shutil
import struct
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "test", "reference"))
from bert import load_masked_lm, pad_batch  # noqa: E402
from bert_tokenizer import BertTokenizer  # noqa: E402
from repo_data import multi30k, read_gz_lines  # noqa: E402
from safetensors_io import read_safetensors, _to_bytes  # noqa: E402

HEAD = {
    "cls.predictions.transform.dense.weight": lambda h: h.dense.weight,
    "cls.predictions.transform.dense.bias": lambda h: h.dense.bias,
    "cls.predictions.transform.LayerNorm.weight": lambda h: h.LayerNorm.weight,
    "cls.predictions.transform.LayerNorm.bias": lambda h: h.LayerNorm.bias,
    "cls.predictions.bias": lambda h: h.bias,
}


def mask_ids(id_lists, tok, gen, prob=0.15):
    """Each piece but [CLS]/[SEP] chosen with probability prob ->
    (masked id lists, list per text of (position, original id))."""
    out, chosen = [], []
    for ids in id_lists:
        draw = torch.rand(len(ids), generator=gen).tolist()
        pos = [i for i in range(1, len(ids) - 1) if draw[i] < prob]
        m = list(ids)
        for i in pos:
            m[i] = tok.mask_id
        out.append(m)
        chosen.append([(i, ids[i]) for i in pos])
    return out, chosen


@torch.no_grad()
def features(model, tok, id_lists, gen, batch=128):
    """Mask id_lists once and encode them -> (hidden [N, d] of the masked
    pieces, labels [N])."""
    masked, chosen = mask_ids(id_lists, tok, gen)
    order = sorted(range(len(masked)), key=lambda i: len(masked[i]))
    hs, labels = [], []
    for s in range(0, len(order), batch):
        part = order[s: s + batch]
        ids, att = pad_batch([masked[i] for i in part], tok.pad_id)
        h = model(ids, att)
        for row, i in enumerate(part):
            for pos, label in chosen[i]:
                hs.append(h[row, pos])
                labels.append(label)
    return torch.stack(hs), torch.tensor(labels)


@torch.no_grad()
def accuracy(model, tok, texts, seed, max_len):
    """Masked-token accuracy (top-1, top-5, count) on texts, 15% of pieces
    masked with a generator seeded by seed."""
    ids = [tok.encode(t, max_len) for t in texts]
    h, labels = features(model, tok, ids, torch.Generator().manual_seed(seed))
    top = model.mlm_logits(h).topk(5, dim=-1).indices
    hit = top == labels[:, None]
    return hit[:, 0].float().mean().item(), hit.any(1).float().mean().item(), len(labels)


@torch.no_grad()
def show(model, tok, text, max_len, k=5):
    """Top k fills of the first [MASK] of text, as "token prob" strings."""
    ids = tok.encode(text, max_len)
    h = model(*pad_batch([ids], tok.pad_id))[0, ids.index(tok.mask_id)]
    p = model.mlm_logits(h).softmax(-1)
    inv = {v: k for k, v in tok.vocab.items()}
    return ", ".join(f"{inv[i]} {p[i]:.3f}" for i in p.topk(k).indices.tolist())


def report(model, tok, args, label):
    top1, top5, n = accuracy(model, tok, multi30k("test_2016_flickr.en"), args.seed, args.max_len)
    print(f"{label}: masked-token accuracy on test_2016_flickr ({n} masked pieces, seed {args.seed}): "
          f"top-1 {top1:.4f} top-5 {top5:.4f}; '{args.probe}' -> {show(model, tok, args.probe, args.max_len)}",
          flush=True)


def read_header(path):
    """safetensors header {name: info} and the offset of the data section."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(n)), 8 + n


def rewrite_head(src, dst, head):
    """Write dst as src with the tensors in head ({name: float tensor})
    stored in their own dtype and shape; every other tensor's bytes and the
    header layout are copied from src."""
    header, start = read_header(src)
    with open(src, "rb") as f:
        f.seek(start)
        data = bytearray(f.read())
    for name, t in head.items():
        info = header[name]
        a, b = info["data_offsets"]
        assert list(t.shape) == info["shape"], name
        raw = _to_bytes(t, info["dtype"])
        assert len(raw) == b - a, name
        data[a:b] = raw
    with open(src, "rb") as f:
        prefix = f.read(start)
    tmp = dst + ".tmp"
    with open(tmp, "wb") as f:
        f.write(prefix)
        f.write(data)
    os.replace(tmp, dst)


def check_unchanged(src_bytes, dst):
    """Assert that every tensor of dst outside HEAD has src's bytes."""
    n = struct.unpack("<Q", src_bytes[:8])[0]
    header, start = json.loads(src_bytes[8: 8 + n]), 8 + n
    with open(dst, "rb") as f:
        out = f.read()
    assert out[:start] == src_bytes[:start], "header changed"
    kept = 0
    for name, info in header.items():
        if name == "__metadata__" or name in HEAD:
            continue
        a, b = info["data_offsets"]
        assert out[start + a: start + b] == src_bytes[start + a: start + b], name
        kept += 1
    print(f"checked: {kept} non-head tensors bitwise unchanged, header unchanged", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, help="BERT checkpoint with cls.predictions.*")
    ap.add_argument("--data", required=True, help="training data directory (multi30k/task1)")
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", help="output directory (default: --model, rewritten in place)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--passes", type=int, default=4, help="maskings of the training captions")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=512, help="masked pieces per step")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--max-len", type=int, default=128)
    ap.add_argument("--probe", default="a man is riding a [MASK].")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.work, exist_ok=True)
    t_start = time.time()
    src = os.path.join(args.model, "model.safetensors")
    with open(src, "rb") as f:
        src_bytes = f.read()
    with open(os.path.join(args.model, "config.json")) as f:
        cfg = json.load(f)
    model = load_masked_lm(cfg, read_safetensors(src))
    tok = BertTokenizer.from_dir(args.model)
    for p in model.bert.parameters():
        p.requires_grad_(False)
    report(model, tok, args, "before")

    cache = os.path.join(args.work, "features.pt")
    if os.path.exists(cache):
        feats, labels = torch.load(cache)
    else:
        text = [t for t in read_gz_lines(os.path.join(args.data, "multi30k", "task1", "train.en.gz"))
                + read_gz_lines(os.path.join(args.data, "multi30k", "task1", "val.en.gz")) if t.strip()]
        ids = [tok.encode(t, args.max_len) for t in text]
        gen = torch.Generator().manual_seed(args.seed)
        parts = []
        for p in range(args.passes):
            parts.append(features(model.bert, tok, ids, gen))
            print(f"features: pass {p + 1}/{args.passes}, {len(parts[-1][1])} masked pieces "
                  f"({time.time() - t_start:.0f}s)", flush=True)
        feats, labels = torch.cat([x[0] for x in parts]), torch.cat([x[1] for x in parts])
        torch.save((feats, labels), cache)

    head = model.head
    opt = torch.optim.AdamW(head.parameters(), lr=args.lr, weight_decay=0.01)
    steps_per_epoch = (len(labels) + args.batch - 1) // args.batch
    total = args.epochs * steps_per_epoch
    warmup = max(1, total // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup))))
    ckpt = os.path.join(args.work, "head.pt")
    epoch = 0
    if os.path.exists(ckpt):
        state = torch.load(ckpt)
        head.load_state_dict(state["head"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        epoch = state["epoch"]
        print(f"resumed after epoch {epoch}", flush=True)
    emb = model.bert.embeddings.word_embeddings.weight
    head.train()
    while epoch < args.epochs:
        perm = torch.randperm(len(labels), generator=torch.Generator().manual_seed(args.seed * 1000 + epoch))
        loss_sum, t0 = 0.0, time.time()
        for s in range(steps_per_epoch):
            idx = perm[s * args.batch: (s + 1) * args.batch]
            loss = F.cross_entropy(head(feats[idx], emb), labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.item()
            if (s + 1) % 100 == 0:
                print(f"epoch {epoch + 1} step {s + 1}/{steps_per_epoch} loss {loss_sum / 100:.4f} "
                      f"{(time.time() - t0) / 100:.2f}s/step", flush=True)
                loss_sum, t0 = 0.0, time.time()
        epoch += 1
        torch.save({"head": head.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                    "epoch": epoch}, ckpt + ".tmp")
        os.replace(ckpt + ".tmp", ckpt)
        print(f"epoch {epoch} done ({(time.time() - t_start) / 60:.1f}min)", flush=True)
    head.eval()

    out = args.out or args.model
    if out != args.model:
        shutil.copytree(args.model, out, dirs_exist_ok=True)
    dst = os.path.join(out, "model.safetensors")
    with open(os.path.join(args.work, "source.safetensors"), "wb") as f:
        f.write(src_bytes)
    rewrite_head(os.path.join(args.work, "source.safetensors"), dst,
                 {name: get(head).detach() for name, get in HEAD.items()})
    check_unchanged(src_bytes, dst)
    stored = load_masked_lm(cfg, read_safetensors(dst))
    report(stored, tok, args, "after (as stored)")
    print(f"wrote {dst}; total {(time.time() - t_start) / 60:.1f}min", flush=True)


if __name__ == "__main__":
    main()
