"""Reference BERT in PyTorch, written from Hugging Face's
models/bert/modeling_bert.py (BertModel, BertForMaskedLM) and
sentence-transformers' Pooling and Normalize modules.

It is the independent reference the C engine is checked against, and the
module the shipped sentence embedder is trained with, so its checkpoints are,
tensor for tensor, what Hugging Face would load.

Semantics kept exactly as in Hugging Face:
  * embeddings = word + absolute position + token type (always type 0),
    then LayerNorm(layer_norm_eps) (dropout in training only);
  * post-LayerNorm encoder layers: q/k/v projections, scores
    q.k / sqrt(head_dim) plus the additive padding mask
    (1 - mask) * finfo(float32).min on keys, softmax, attention output dense
    + residual + LayerNorm; intermediate dense + activation (hidden_act:
    "gelu" = exact erf GELU, "gelu_new"/"gelu_pytorch_tanh" = tanh
    approximation, "relu"), output dense + residual + LayerNorm;
  * MLM head: transform dense + hidden_act + LayerNorm, then the decoder
    tied to the word embeddings (or its own weight when
    tie_word_embeddings is false), plus cls.predictions.bias;
  * optional pooler: tanh(dense(h[:, 0])).
sentence-transformers pooling: mean over the attention mask (the count
clamped at 1e-9), the [CLS] vector, or max with padding set to -1e9;
Normalize is L2 with eps 1e-12.

Tensor names: BertModel as sentence-transformers saves it has no prefix
(embeddings.word_embeddings.weight, encoder.layer.0.attention.self.query.weight,
...); BertForMaskedLM prefixes them with "bert." and adds cls.predictions.*.
"""
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

ACTIVATIONS = {
    "gelu": F.gelu,
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "relu": F.relu,
}


class Embeddings(nn.Module):
    """word + position + token-type embeddings, LayerNorm."""

    def __init__(self, cfg):
        super().__init__()
        d = cfg["hidden_size"]
        self.word_embeddings = nn.Embedding(cfg["vocab_size"], d)
        self.position_embeddings = nn.Embedding(cfg["max_position_embeddings"], d)
        self.token_type_embeddings = nn.Embedding(cfg.get("type_vocab_size", 2), d)
        self.LayerNorm = nn.LayerNorm(d, eps=cfg["layer_norm_eps"])
        self.dropout = cfg.get("hidden_dropout_prob", 0.0)

    def forward(self, ids):
        """ids [B, T] -> [B, T, d]."""
        pos = torch.arange(ids.shape[1], device=ids.device)
        h = self.word_embeddings(ids) + self.token_type_embeddings.weight[0] + self.position_embeddings(pos)[None]
        return F.dropout(self.LayerNorm(h), self.dropout, self.training)


class SelfAttention(nn.Module):
    """BertSelfAttention: query/key/value projections, scaled dot product."""

    def __init__(self, cfg):
        super().__init__()
        d = cfg["hidden_size"]
        self.heads = cfg["num_attention_heads"]
        self.head_dim = d // self.heads
        self.query = nn.Linear(d, d)
        self.key = nn.Linear(d, d)
        self.value = nn.Linear(d, d)
        self.dropout = cfg.get("attention_probs_dropout_prob", 0.0)
        # a list to append each call's probabilities [B, heads, T, T] to
        # (what BertSelfAttention returns with output_attentions=True)
        self.record = None

    def split(self, x):
        """[B, T, d] -> [B, heads, T, head_dim]."""
        b, t, _ = x.shape
        return x.view(b, t, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, h, mask):
        """h [B, T, d]; mask additive [B, 1, 1, T] -> context [B, T, d]."""
        q, k, v = self.split(self.query(h)), self.split(self.key(h)), self.split(self.value(h))
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim) + mask
        probs = F.dropout(scores.softmax(-1), self.dropout, self.training)
        if self.record is not None:
            self.record.append(probs.detach())
        return (probs @ v).transpose(1, 2).reshape(h.shape)


class DenseLayerNorm(nn.Module):
    """BertSelfOutput / BertOutput: LayerNorm(dense(x) + residual)."""

    def __init__(self, cfg, n_in):
        super().__init__()
        self.dense = nn.Linear(n_in, cfg["hidden_size"])
        self.LayerNorm = nn.LayerNorm(cfg["hidden_size"], eps=cfg["layer_norm_eps"])
        self.dropout = cfg.get("hidden_dropout_prob", 0.0)

    def forward(self, x, residual):
        return self.LayerNorm(F.dropout(self.dense(x), self.dropout, self.training) + residual)


class Attention(nn.Module):
    """BertAttention: self-attention + output dense/residual/LayerNorm."""

    def __init__(self, cfg):
        super().__init__()
        self.self = SelfAttention(cfg)
        self.output = DenseLayerNorm(cfg, cfg["hidden_size"])

    def forward(self, h, mask):
        return self.output(self.self(h, mask), h)


class Intermediate(nn.Module):
    """BertIntermediate: dense + hidden_act."""

    def __init__(self, cfg):
        super().__init__()
        self.dense = nn.Linear(cfg["hidden_size"], cfg["intermediate_size"])
        self.act = ACTIVATIONS[cfg["hidden_act"]]

    def forward(self, h):
        return self.act(self.dense(h))


class Layer(nn.Module):
    """BertLayer (post-LN)."""

    def __init__(self, cfg):
        super().__init__()
        self.attention = Attention(cfg)
        self.intermediate = Intermediate(cfg)
        self.output = DenseLayerNorm(cfg, cfg["intermediate_size"])

    def forward(self, h, mask):
        h = self.attention(h, mask)
        return self.output(self.intermediate(h), h)


class Encoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.layer = nn.ModuleList([Layer(cfg) for _ in range(cfg["num_hidden_layers"])])

    def forward(self, h, mask):
        for layer in self.layer:
            h = layer(h, mask)
        return h


class Pooler(nn.Module):
    """BertPooler: tanh(dense(h[:, 0]))."""

    def __init__(self, cfg):
        super().__init__()
        self.dense = nn.Linear(cfg["hidden_size"], cfg["hidden_size"])

    def forward(self, h):
        return torch.tanh(self.dense(h[:, 0]))


class BertModel(nn.Module):
    """BertModel; state_dict() names are the unprefixed HF names (the pooler
    only when built with_pooler)."""

    def __init__(self, cfg, with_pooler=False):
        super().__init__()
        self.cfg = cfg
        self.embeddings = Embeddings(cfg)
        self.encoder = Encoder(cfg)
        self.pooler = Pooler(cfg) if with_pooler else None

    def forward(self, ids, attention_mask):
        """ids, attention_mask [B, T] (1 = token, 0 = padding) -> last hidden
        states [B, T, d]."""
        mask = (1.0 - attention_mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        return self.encoder(self.embeddings(ids), mask)


class MLMHead(nn.Module):
    """cls.predictions: transform (dense, act, LayerNorm) + decoder + bias;
    the decoder is the word embeddings (tie_word_embeddings, the default)
    or, untied, its own weight (cls.predictions.decoder.weight)."""

    def __init__(self, cfg):
        super().__init__()
        d = cfg["hidden_size"]
        self.dense = nn.Linear(d, d)
        self.act = ACTIVATIONS[cfg["hidden_act"]]
        self.LayerNorm = nn.LayerNorm(d, eps=cfg["layer_norm_eps"])
        self.bias = nn.Parameter(torch.zeros(cfg["vocab_size"]))
        tied = cfg.get("tie_word_embeddings", True)
        self.decoder = None if tied else nn.Parameter(torch.zeros(cfg["vocab_size"], d))

    def forward(self, h, word_embeddings):
        """h [..., d], word_embeddings [V, d] -> logits [..., V]."""
        decoder = word_embeddings if self.decoder is None else self.decoder
        return self.LayerNorm(self.act(self.dense(h))) @ decoder.T + self.bias


class BertForMaskedLM(nn.Module):
    """BertModel + MLM head (decoder weight tied to the word embeddings)."""

    def __init__(self, cfg, with_pooler=False):
        super().__init__()
        self.bert = BertModel(cfg, with_pooler)
        self.head = MLMHead(cfg)

    def forward(self, ids, attention_mask):
        return self.bert(ids, attention_mask)

    def mlm_logits(self, h):
        """hidden states [..., d] -> vocabulary logits [..., V]."""
        return self.head(h, self.bert.embeddings.word_embeddings.weight)


def bert_state_dict(model):
    """BertModel tensors under the unprefixed HF names."""
    return {k: v.detach().contiguous() for k, v in model.state_dict().items()}


def masked_lm_state_dict(model):
    """BertForMaskedLM tensors: bert.* plus cls.predictions.* (the tied
    decoder weight is not stored, as save_pretrained does)."""
    out = {"bert." + k: v for k, v in bert_state_dict(model.bert).items()}
    head = model.head
    out["cls.predictions.transform.dense.weight"] = head.dense.weight.detach()
    out["cls.predictions.transform.dense.bias"] = head.dense.bias.detach()
    out["cls.predictions.transform.LayerNorm.weight"] = head.LayerNorm.weight.detach()
    out["cls.predictions.transform.LayerNorm.bias"] = head.LayerNorm.bias.detach()
    out["cls.predictions.bias"] = head.bias.detach()
    if head.decoder is not None:
        out["cls.predictions.decoder.weight"] = head.decoder.detach()
    return {k: v.contiguous() for k, v in out.items()}


def load_bert(cfg, sd):
    """BertModel from tensors named with or without the "bert." prefix
    (cls.* and the legacy embeddings.position_ids buffer are ignored; the
    pooler is built when its tensors are present)."""
    prefix = "bert." if any(k.startswith("bert.") for k in sd) else ""
    own = {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}
    own.pop("embeddings.position_ids", None)
    model = BertModel(cfg, with_pooler="pooler.dense.weight" in own)
    model.load_state_dict({k: v.float() for k, v in own.items()})
    return model.eval()


def load_masked_lm(cfg, sd):
    """BertForMaskedLM from bert.* + cls.predictions.* tensors."""
    model = BertForMaskedLM(cfg)
    model.bert = load_bert(cfg, {k: v for k, v in sd.items() if k.startswith("bert.")})
    head = model.head
    with torch.no_grad():
        head.dense.weight.copy_(sd["cls.predictions.transform.dense.weight"])
        head.dense.bias.copy_(sd["cls.predictions.transform.dense.bias"])
        head.LayerNorm.weight.copy_(sd["cls.predictions.transform.LayerNorm.weight"])
        head.LayerNorm.bias.copy_(sd["cls.predictions.transform.LayerNorm.bias"])
        head.bias.copy_(sd.get("cls.predictions.bias", sd.get("cls.predictions.decoder.bias")))
        if head.decoder is not None:
            head.decoder.copy_(sd["cls.predictions.decoder.weight"])
    return model.eval()


def pool(h, attention_mask, mode):
    """sentence-transformers Pooling: h [B, T, d], mask [B, T] -> [B, d]."""
    m = attention_mask[:, :, None].to(h.dtype)
    if mode == "mean":
        return (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
    if mode == "cls":
        return h[:, 0]
    if mode == "max":
        return h.masked_fill(m == 0, -1e9).max(1).values
    raise ValueError(f"unsupported pooling mode {mode}")


def normalize(x):
    """sentence-transformers Normalize: x / max(||x||_2, 1e-12)."""
    return F.normalize(x, p=2, dim=-1, eps=1e-12)


def pad_batch(id_lists, pad_id=0):
    """ragged id lists -> ids [B, T] and attention mask [B, T] (right padding)."""
    t = max(len(x) for x in id_lists)
    ids = torch.full((len(id_lists), t), pad_id, dtype=torch.long)
    mask = torch.zeros(len(id_lists), t, dtype=torch.long)
    for i, x in enumerate(id_lists):
        ids[i, : len(x)] = torch.tensor(x)
        mask[i, : len(x)] = 1
    return ids, mask


class SentenceEmbedder:
    """A sentence-transformers directory: BERT, Pooling, optional Normalize."""

    def __init__(self, path):
        from bert_tokenizer import BertTokenizer
        from safetensors_io import read_safetensors
        with open(os.path.join(path, "config.json")) as f:
            self.cfg = json.load(f)
        self.model = load_bert(self.cfg, read_safetensors(os.path.join(path, "model.safetensors")))
        self.tokenizer = BertTokenizer.from_dir(path)
        # a plain checkpoint (no modules.json): mean pooling, as
        # sentence-transformers wraps one
        self.pooling, self.normalize = "mean", False
        if os.path.exists(os.path.join(path, "modules.json")):
            with open(os.path.join(path, "modules.json")) as f:
                modules = json.load(f)
            pooling = next(m for m in modules if m["type"].endswith("Pooling"))
            with open(os.path.join(path, pooling["path"], "config.json")) as f:
                pcfg = json.load(f)
            modes = [m for m in ("cls_token", "mean_tokens", "max_tokens") if pcfg.get("pooling_mode_" + m)]
            self.pooling = {"cls_token": "cls", "mean_tokens": "mean", "max_tokens": "max"}[modes[0]]
            self.normalize = any(m["type"].endswith("Normalize") for m in modules)
        self.max_length = self.cfg["max_position_embeddings"]
        sb = os.path.join(path, "sentence_bert_config.json")
        if os.path.exists(sb):
            with open(sb) as f:
                self.max_length = min(self.max_length, json.load(f)["max_seq_length"])

    def encode_ids(self, texts):
        """texts -> token id lists, truncated to max_length."""
        return [self.tokenizer.encode(t, self.max_length) for t in texts]

    @torch.no_grad()
    def embed_ids(self, id_lists, batch_size=64):
        """id lists -> float32 [N, d] sentence embeddings."""
        out = []
        for i in range(0, len(id_lists), batch_size):
            ids, mask = pad_batch(id_lists[i: i + batch_size], self.tokenizer.pad_id)
            e = pool(self.model(ids, mask), mask, self.pooling)
            out.append(normalize(e) if self.normalize else e)
        return torch.cat(out)

    def embed(self, texts, batch_size=64):
        return self.embed_ids(self.encode_ids(texts), batch_size)
