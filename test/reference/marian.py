"""Reference Marian encoder-decoder in PyTorch, written from Hugging Face's
models/marian/modeling_marian.py (MarianMTModel).

It is the independent reference the C engine is checked against, and the
module the default translator is trained with, so that the checkpoint it
exports is, tensor for tensor, what Hugging Face would load.

Semantics kept exactly as in Hugging Face:
  * post-LayerNorm layers (normalize_before = false), nn.LayerNorm eps 1e-5;
  * token embeddings scaled by sqrt(d_model) when scale_embedding;
  * static sinusoidal positions, NOT interleaved: the first ceil(d/2) columns
    hold sin(pos / 10000^(2j/d)) for even j, the rest cos(...) for odd j;
  * q is scaled by head_dim^-0.5 after its projection (bias included);
  * additive masks: padding mask on keys, causal mask in decoder self-attention;
  * logits = h @ W^T + final_logits_bias, W the shared table when
    tie_word_embeddings (the default), else lm_head.weight;
  * share_encoder_decoder_embeddings = false (separate vocabularies): the
    encoder and decoder get their own tables, both [vocab_size, d_model]
    because MarianModel deep-copies one vocab_size table for each side, while
    lm_head and final_logits_bias have decoder_vocab_size rows.
"""
import json
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

ACTIVATIONS = {"swish": F.silu, "silu": F.silu, "gelu": F.gelu, "relu": F.relu}


def sinusoidal_positions(n_pos, dim):
    """[n_pos, dim] table laid out as MarianSinusoidalPositionalEmbedding."""
    pos = torch.arange(n_pos, dtype=torch.float64)[:, None]
    j = torch.arange(dim, dtype=torch.float64)[None, :]
    enc = pos / torch.pow(10000.0, 2 * torch.div(j, 2, rounding_mode="floor") / dim)
    out = torch.zeros(n_pos, dim, dtype=torch.float64)
    sentinel = dim // 2 if dim % 2 == 0 else dim // 2 + 1
    out[:, :sentinel] = torch.sin(enc[:, 0::2])
    out[:, sentinel:] = torch.cos(enc[:, 1::2])
    return out.float()


class Attention(nn.Module):
    """Multi-head attention with q/k/v/out projections (all with bias)."""

    def __init__(self, d, heads, dropout):
        super().__init__()
        self.heads, self.head_dim, self.dropout = heads, d // heads, dropout
        self.q_proj = nn.Linear(d, d)
        self.k_proj = nn.Linear(d, d)
        self.v_proj = nn.Linear(d, d)
        self.out_proj = nn.Linear(d, d)
        # a list to append each call's probabilities [B, heads, Tq, Tk] to
        # (MarianAttention's attn_weights with output_attentions=True)
        self.record = None

    def split(self, x):
        # [B, T, d] -> [B, heads, T, head_dim]
        b, t, _ = x.shape
        return x.view(b, t, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, x, kv, mask, cache=None):
        """x [B, Tq, d]; kv [B, Tk, d] (or None when `cache` already holds
        static keys); mask additive, broadcastable to [B, heads, Tq, Tk].
        cache: dict carrying 'k','v' [B, heads, T, head_dim] between decoding
        steps; 'static' marks cross-attention keys computed once."""
        q = self.split(self.q_proj(x) * self.head_dim ** -0.5)
        if cache is not None and cache.get("static") and "k" in cache:
            k, v = cache["k"], cache["v"]
        else:
            k, v = self.split(self.k_proj(kv)), self.split(self.v_proj(kv))
            if cache is not None:
                if "k" in cache and not cache.get("static"):
                    k = torch.cat([cache["k"], k], dim=2)
                    v = torch.cat([cache["v"], v], dim=2)
                cache["k"], cache["v"] = k, v
        scores = q @ k.transpose(-1, -2)
        if mask is not None:
            scores = scores + mask
        probs = F.dropout(scores.softmax(-1), self.dropout, self.training)
        if self.record is not None:
            self.record.append(probs.detach())
        out = (probs @ v).transpose(1, 2).reshape(x.shape[0], x.shape[1], -1)
        return self.out_proj(out)


class EncoderLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg["d_model"]
        self.self_attn = Attention(d, cfg["encoder_attention_heads"], cfg.get("attention_dropout", 0.0))
        self.self_attn_layer_norm = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, cfg["encoder_ffn_dim"])
        self.fc2 = nn.Linear(cfg["encoder_ffn_dim"], d)
        self.final_layer_norm = nn.LayerNorm(d)
        self.act = ACTIVATIONS[cfg["activation_function"]]
        self.dropout = cfg.get("dropout", 0.0)
        self.act_dropout = cfg.get("activation_dropout", 0.0)

    def forward(self, h, mask):
        h = self.self_attn_layer_norm(h + F.dropout(self.self_attn(h, h, mask), self.dropout, self.training))
        f = F.dropout(self.act(self.fc1(h)), self.act_dropout, self.training)
        return self.final_layer_norm(h + F.dropout(self.fc2(f), self.dropout, self.training))


class DecoderLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg["d_model"]
        heads = cfg["decoder_attention_heads"]
        self.self_attn = Attention(d, heads, cfg.get("attention_dropout", 0.0))
        self.self_attn_layer_norm = nn.LayerNorm(d)
        self.encoder_attn = Attention(d, heads, cfg.get("attention_dropout", 0.0))
        self.encoder_attn_layer_norm = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, cfg["decoder_ffn_dim"])
        self.fc2 = nn.Linear(cfg["decoder_ffn_dim"], d)
        self.final_layer_norm = nn.LayerNorm(d)
        self.act = ACTIVATIONS[cfg["activation_function"]]
        self.dropout = cfg.get("dropout", 0.0)
        self.act_dropout = cfg.get("activation_dropout", 0.0)

    def forward(self, h, enc, self_mask, cross_mask, cache=None):
        drop = lambda x: F.dropout(x, self.dropout, self.training)
        sc = cache["self"] if cache is not None else None
        cc = cache["cross"] if cache is not None else None
        h = self.self_attn_layer_norm(h + drop(self.self_attn(h, h, self_mask, sc)))
        h = self.encoder_attn_layer_norm(h + drop(self.encoder_attn(h, enc, cross_mask, cc)))
        f = F.dropout(self.act(self.fc1(h)), self.act_dropout, self.training)
        return self.final_layer_norm(h + drop(self.fc2(f)))


class MarianMT(nn.Module):
    """MarianMTModel: shared or separate embedding tables, tied or untied
    output projection (the tied, shared case keeps the parameter names
    shared.weight / final_logits_bias that training checkpoints use)."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        d, pad, vocab = cfg["d_model"], cfg["pad_token_id"], cfg["vocab_size"]
        self.shared_vocab = cfg.get("share_encoder_decoder_embeddings", True)
        self.tied_output = cfg.get("tie_word_embeddings", True)
        out_vocab = vocab if self.shared_vocab else (cfg.get("decoder_vocab_size") or vocab)
        if self.shared_vocab:
            self.shared = nn.Embedding(vocab, d, padding_idx=pad)
        else:
            self.encoder_embed = nn.Embedding(vocab, d, padding_idx=pad)
            self.decoder_embed = nn.Embedding(vocab, d, padding_idx=pad)
        if not self.tied_output:
            self.lm_head = nn.Linear(d, out_vocab, bias=False)
        elif out_vocab != vocab:
            raise ValueError(f"tied output projection has {vocab} rows but decoder_vocab_size is {out_vocab}")
        self.embed_scale = math.sqrt(d) if cfg.get("scale_embedding", False) else 1.0
        self.register_buffer("positions", sinusoidal_positions(cfg["max_position_embeddings"], d), persistent=False)
        self.encoder_layers = nn.ModuleList([EncoderLayer(cfg) for _ in range(cfg["encoder_layers"])])
        self.decoder_layers = nn.ModuleList([DecoderLayer(cfg) for _ in range(cfg["decoder_layers"])])
        self.register_buffer("final_logits_bias", torch.zeros(1, out_vocab))
        self.dropout = cfg.get("dropout", 0.0)

    def source_embedding(self):
        """The encoder's token table [vocab_size, d]."""
        return self.shared if self.shared_vocab else self.encoder_embed

    def target_embedding(self):
        """The decoder's token table [vocab_size, d] (HF's layout, see above)."""
        return self.shared if self.shared_vocab else self.decoder_embed

    def output_weight(self):
        """[out_vocab, d]: the decoder table when tied, else lm_head."""
        return self.target_embedding().weight if self.tied_output else self.lm_head.weight

    @staticmethod
    def padding_mask(ids, pad):
        """[B, T] ids -> additive mask [B, 1, 1, T]: 0 for tokens, -inf-ish for pad."""
        return ((ids == pad).float() * torch.finfo(torch.float32).min)[:, None, None, :]

    def encode(self, src):
        """src [B, S] -> encoder states [B, S, d]."""
        h = self.source_embedding()(src) * self.embed_scale + self.positions[: src.shape[1]]
        h = F.dropout(h, self.dropout, self.training)
        mask = self.padding_mask(src, self.cfg["pad_token_id"])
        for layer in self.encoder_layers:
            h = layer(h, mask)
        return h

    def decode(self, tgt, enc, src_mask, caches=None, offset=0):
        """tgt [B, T] (decoder input ids starting at position `offset`) ->
        logits [B, T, V]. caches: one dict per layer for incremental decoding."""
        t = tgt.shape[1]
        h = self.target_embedding()(tgt) * self.embed_scale + self.positions[offset: offset + t]
        h = F.dropout(h, self.dropout, self.training)
        causal = None
        if t > 1:
            causal = torch.full((t, t), torch.finfo(torch.float32).min).triu(1)[None, None]
        for i, layer in enumerate(self.decoder_layers):
            h = layer(h, enc, causal, src_mask, caches[i] if caches is not None else None)
        return h @ self.output_weight().T + self.final_logits_bias

    def forward(self, src, tgt_in):
        enc = self.encode(src)
        return self.decode(tgt_in, enc, self.padding_mask(src, self.cfg["pad_token_id"]))

    def hf_embedding_tensors(self):
        """{HF name: module parameter} for the embedding tables and lm_head."""
        if self.shared_vocab:
            out = {"model.shared.weight": self.shared.weight}
        else:
            out = {"model.encoder.embed_tokens.weight": self.encoder_embed.weight,
                   "model.decoder.embed_tokens.weight": self.decoder_embed.weight}
        if not self.tied_output:
            out["lm_head.weight"] = self.lm_head.weight
        return out

    def hf_state_dict(self):
        """Tensors under the names MarianMTModel's checkpoints use."""
        out = dict(self.hf_embedding_tensors(), final_logits_bias=self.final_logits_bias)
        for side, layers in (("encoder", self.encoder_layers), ("decoder", self.decoder_layers)):
            for i, layer in enumerate(layers):
                for name, t in layer.state_dict().items():
                    out[f"model.{side}.layers.{i}.{name}"] = t
        return {k: v.detach().contiguous() for k, v in out.items()}

    def load_hf_state_dict(self, sd):
        """Inverse of hf_state_dict. A shared table may also come under the
        names HF ties to it (encoder/decoder embed_tokens, lm_head when tied)."""
        aliases = {"model.shared.weight": ["model.shared.weight", "model.encoder.embed_tokens.weight",
                                           "model.decoder.embed_tokens.weight"]
                   + (["lm_head.weight"] if self.tied_output else [])}
        for name, param in self.hf_embedding_tensors().items():
            found = [k for k in aliases.get(name, [name]) if k in sd]
            if not found:
                raise KeyError(f"checkpoint lacks {name}")
            param.data.copy_(sd[found[0]].float())
        self.final_logits_bias.data.copy_(sd["final_logits_bias"].float())
        for side, layers in (("encoder", self.encoder_layers), ("decoder", self.decoder_layers)):
            for i, layer in enumerate(layers):
                prefix = f"model.{side}.layers.{i}."
                layer.load_state_dict({k: sd[prefix + k].float() for k in layer.state_dict()})


def load_checkpoint(path):
    """Load a MarianMTModel directory (config.json + model.safetensors)."""
    from safetensors_io import read_safetensors
    with open(f"{path}/config.json") as f:
        cfg = json.load(f)
    model = MarianMT(cfg)
    model.load_hf_state_dict(read_safetensors(f"{path}/model.safetensors"))
    return model.eval()
