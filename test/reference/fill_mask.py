"""Reference fill-mask, written from Hugging Face transformers 4.57's
pipelines/fill_mask.py (FillMaskPipeline.postprocess) over the reference
BertForMaskedLM of bert.py:

  * the text is tokenized as embed() reads it ([CLS] pieces [SEP], cut to
    the sentence-transformers max_seq_length / max_position_embeddings;
    the pipeline itself does not truncate, so a [MASK] cut off here has no
    predictions);
  * logits of every [MASK] position, softmax over the vocabulary, the
    top_k probabilities (ties: lower id first);
  * for each prediction: the ids with that [MASK] replaced, [PAD] ids
    dropped, decoded with skip_special_tokens only when the text has a
    single [MASK] (the pipeline's single_mask); token_str = decode([id]).
"""
import json
import os

import torch

from bert import SentenceEmbedder, load_masked_lm, pad_batch
from safetensors_io import read_safetensors


class FillMasker:
    """A BertForMaskedLM directory (also a sentence-transformers one)."""

    def __init__(self, path):
        emb = SentenceEmbedder(path)  # the tokenizer and truncation of embed()
        self.tokenizer, self.max_length = emb.tokenizer, emb.max_length
        with open(os.path.join(path, "config.json")) as f:
            cfg = json.load(f)
        self.model = load_masked_lm(cfg, read_safetensors(os.path.join(path, "model.safetensors")))

    @torch.no_grad()
    def __call__(self, text, top_k=5):
        """-> (ids, [(position, [(token_id, score, token_str, sequence)] * k)])."""
        tok = self.tokenizer
        ids = tok.encode(text, self.max_length)
        positions = [i for i, x in enumerate(ids) if x == tok.mask_id]
        h = self.model(*pad_batch([ids], tok.pad_id))[0]
        out = []
        for pos in positions:
            probs = self.model.mlm_logits(h[pos]).softmax(-1)
            order = torch.sort(-probs, stable=True).indices[:top_k].tolist()
            preds = []
            for p in order:
                filled = [p if i == pos else x for i, x in enumerate(ids)]
                filled = [x for x in filled if x != tok.pad_id]
                preds.append((p, probs[p].item(), tok.decode([p]),
                              tok.decode(filled, skip_special_tokens=len(positions) == 1)))
            out.append((pos, preds))
        return ids, out
