#!/usr/bin/python3
"""Greedy and beam search exactly as Hugging Face transformers' `generate`
does them for MarianMTModel, over the reference model of marian.py.

Followed: transformers v4.46 -- generation/utils.py (`_sample` with
do_sample=False, `_beam_search`, `_get_logits_processor`,
`_prepare_generated_length`, `_prepare_special_tokens`),
generation/beam_search.py (`BeamSearchScorer`, `BeamHypotheses`) and
generation/logits_process.py.  transformers v4.50 rewrote `_beam_search`
without BeamSearchScorer; that version can differ in rare cases (its
early-stopping heuristic bounds with the best running beam instead of the
best candidate, and a finished batch item keeps being searched).

Options (`generation_options`) come from generation_config.json when the
model directory has one (then config.json's generation keys are ignored, as
`GenerationConfig.from_pretrained` replaces the config-derived one), else from
config.json; missing keys take GenerationConfig's defaults (max_length 20,
num_beams 1, length_penalty 1.0, early_stopping False, ...); keyword
overrides act as `generate(**kwargs)`.  As `_prepare_generated_length` does,
max_new_tokens sets max_length = max_new_tokens + 1, and a max_length left at
the default 20 (not overridden) becomes min(21, max_position_embeddings).
Options this reference does not implement (sampling, repetition penalties,
multi-token bad words, ...) raise NotImplementedError unless inert.

Decoding: the decoder starts from decoder_start_token_id (bos when unset;
pad for Marian); max_length counts that start token, so at most
max_length - 1 tokens are generated.  Logits processors, in HF's order:
bad_words_ids (single tokens, minus eos) add -inf; min_length sets eos to
-inf while the sequence (start included) is shorter; forced_bos_token_id at
length 1; forced_eos_token_id at length max_length - 1 sets every other
token to -inf and eos to 0; renormalize_logits applies log_softmax last.
Greedy applies them to the raw logits and takes the first argmax.  Beam
search applies them to log_softmax(logits), adds the beam's running sum,
keeps the top 2 * num_beams (max(2, 1 + n_eos) * num_beams) candidates of
each input over all its beams, sends an eos candidate of rank < num_beams to
the input's finished hypotheses with score sum / generated_len ** length_penalty
(generated_len counts the eos, not the start token), and continues the first
num_beams non-eos candidates.  An input is done per BeamHypotheses.is_done
(early_stopping True: num_beams finished; False: the best candidate's sum
divided by the current generated length cannot beat the worst finished;
"never": the same bound taken at max_length when length_penalty > 0); a done
input's beams are padded.  At max_length the open beams join the finished
ones (generated_len = max_length - 1) and the best score wins (a tie goes to
the hypothesis added last, as HF's sort and pop do).  The encoder runs once;
decoder self-attention keys and values grow by one position per step, cross-
attention keys and values are computed at the first step and reused, and
beam reordering selects rows of the self-attention cache only, as v4.46's
MarianMTModel._reorder_cache does (all beams of an input share one source).

Returned, per input: HF's output row minus the start token, cut after the
first eos (the rest is padding): the generated ids up to and including eos,
or max_length - 1 ids without eos when a beam hypothesis ran to max_length
(with forced_eos_token_id set, every output ends in eos).

    /usr/bin/python3 test/reference/generate.py --self-test
checks the search on a tiny random model: cached against recomputed
decoding, batched against one input at a time, and a beam wide enough to
hold every prefix against exhaustive enumeration of all outputs.
"""
import argparse
import dataclasses
import itertools
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from marian import MarianMT  # noqa: E402

# GenerationConfig attributes implemented here, with HF's defaults.
DEFAULTS = {
    "max_length": 20, "max_new_tokens": None, "min_length": 0, "num_beams": 1,
    "length_penalty": 1.0, "early_stopping": False, "bad_words_ids": None,
    "forced_bos_token_id": None, "forced_eos_token_id": None, "renormalize_logits": False,
    "bos_token_id": None, "eos_token_id": None, "pad_token_id": None,
    "decoder_start_token_id": None,
}
# Attributes not implemented: accepted only at a value that makes them inert.
INERT = {
    "do_sample": False, "num_beam_groups": 1, "num_return_sequences": 1,
    "repetition_penalty": 1.0, "encoder_repetition_penalty": 1.0, "no_repeat_ngram_size": 0,
    "encoder_no_repeat_ngram_size": 0, "diversity_penalty": 0.0, "min_new_tokens": None,
    "suppress_tokens": None, "begin_suppress_tokens": None, "forced_decoder_ids": None,
    "exponential_decay_length_penalty": None, "sequence_bias": None, "constraints": None,
    "force_words_ids": None, "guidance_scale": None, "max_time": None, "stop_strings": None,
    "remove_invalid_values": False, "penalty_alpha": None, "watermarking_config": None,
}
HF_DEFAULT_MAX_LENGTH = 20


@dataclasses.dataclass
class GenerationOptions:
    """Resolved options (see the module docstring)."""
    max_length: int
    min_length: int
    num_beams: int
    length_penalty: float
    early_stopping: object  # True, False or "never"
    bad_words: list  # single token ids never generated
    forced_bos_token_id: object
    forced_eos_token_id: object  # int, list of ints or None
    renormalize_logits: bool
    eos: list  # eos token ids (may be empty)
    pad_token_id: object
    decoder_start_token_id: int


def generation_options(model_dir, **overrides):
    """Options as model.generate(**overrides) would use them for the model in
    `model_dir`; overrides set to None count as not given."""
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    path = os.path.join(model_dir, "generation_config.json")
    source = config
    if os.path.exists(path):
        with open(path) as f:
            source = json.load(f)
    for key, inert in INERT.items():
        if source.get(key) is not None and source[key] != inert:
            raise NotImplementedError(f"generation option {key}={source[key]!r} is not implemented")
    opts = {k: source[k] if source.get(k) is not None else d for k, d in DEFAULTS.items()}
    overrides = {k: v for k, v in overrides.items() if v is not None}
    unknown = set(overrides) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"unknown generation options {sorted(unknown)}")
    opts.update(overrides)
    return resolve_options(opts, "max_length" in overrides, config.get("max_position_embeddings"))


def resolve_options(opts, max_length_given, max_positions):
    """Raw option dict -> GenerationOptions, with HF's length and special
    token rules."""
    eos = opts["eos_token_id"]
    eos = [] if eos is None else [eos] if isinstance(eos, int) else list(eos)
    pad = opts["pad_token_id"] if opts["pad_token_id"] is not None else (eos[0] if eos else None)
    start = opts["decoder_start_token_id"]
    start = start if start is not None else opts["bos_token_id"]
    if start is None:
        raise ValueError("neither decoder_start_token_id nor bos_token_id is set")
    max_length = opts["max_length"]
    if opts["max_new_tokens"] is not None:
        max_length = opts["max_new_tokens"] + 1
    elif not max_length_given and max_length == HF_DEFAULT_MAX_LENGTH:
        max_length = HF_DEFAULT_MAX_LENGTH + 1
        if max_positions is not None:
            max_length = min(max_length, max_positions)
    if max_length <= 1:
        raise ValueError(f"max_length {max_length} leaves no room after the start token")
    if opts["num_beams"] < 1 or opts["early_stopping"] not in (True, False, "never"):
        raise ValueError("num_beams must be >= 1 and early_stopping True, False or 'never'")
    bad = []
    for word in opts["bad_words_ids"] or []:
        if len(word) != 1:
            raise NotImplementedError("bad_words_ids of more than one token are not implemented")
        if word[0] not in eos:
            bad.append(word[0])
    return GenerationOptions(
        max_length=max_length, min_length=opts["min_length"], num_beams=opts["num_beams"],
        length_penalty=opts["length_penalty"], early_stopping=opts["early_stopping"],
        bad_words=bad, forced_bos_token_id=opts["forced_bos_token_id"],
        forced_eos_token_id=opts["forced_eos_token_id"],
        renormalize_logits=opts["renormalize_logits"], eos=eos, pad_token_id=pad,
        decoder_start_token_id=start)


class LogitsProcessors:
    """The processor list `_get_logits_processor` builds from the options."""

    def __init__(self, opts, vocab_size):
        self.opts = opts
        self.bias = None  # float[vocab]: -inf at bad words, else 0
        if opts.bad_words:
            if max(opts.bad_words) >= vocab_size:
                raise ValueError(f"bad word id {max(opts.bad_words)} is outside the vocabulary of {vocab_size}")
            self.bias = torch.zeros(vocab_size)
            self.bias[opts.bad_words] = -math.inf

    def __call__(self, input_ids, scores):
        """input_ids [rows, cur_len] (start included); scores [rows, V]."""
        o, cur_len = self.opts, input_ids.shape[-1]
        if self.bias is not None:
            scores = scores + self.bias
        if o.min_length > 0 and o.eos and cur_len < o.min_length:
            scores = scores.clone()
            scores[:, o.eos] = -math.inf
        for token, at in ((o.forced_bos_token_id, 1), (o.forced_eos_token_id, o.max_length - 1)):
            if token is not None and cur_len == at:
                scores = torch.full_like(scores, -math.inf)
                scores[:, token] = 0
        if o.renormalize_logits:
            scores = scores.log_softmax(dim=-1)
        return scores


class Margins:
    """Smallest gap, per input, between two scores whose order decides the
    output (a near-tie there can flip between engines); inf when none.
    Counted: greedy top-1 against top-2; beam candidates (note_candidates),
    the stopping test against the worst finished score, and the best final
    hypothesis against the second.  Not counted: whether a finished
    hypothesis that ties the worst one is kept, since either way the worst
    score moves by no more than the tie (and the best cannot be the worst)."""

    def __init__(self, n):
        self.min = [math.inf] * n

    def note(self, i, gap):
        if math.isfinite(gap):
            self.min[i] = min(self.min[i], abs(gap))

    def note_candidates(self, i, values, tokens, beams, eos):
        """Beam candidates (descending values, their tokens): what decides
        the step is which non-eos candidates make the num_beams continuing
        ones (the beams-th against the next non-eos) and whether an eos
        candidate ranks below num_beams; the order inside the chosen set
        does not matter."""
        cont = [v for v, t in zip(values, tokens) if t not in eos]
        if len(cont) > beams:
            self.note(i, cont[beams - 1] - cont[beams])
        for rank, (v, t) in enumerate(zip(values, tokens)):
            if t in eos:
                self.note(i, v - values[beams if rank < beams else beams - 1])


def new_caches(model):
    """One {self, cross} key/value cache per decoder layer (marian.py layout)."""
    return [{"self": {}, "cross": {"static": True}} for _ in model.decoder_layers]


def reorder_caches(caches, rows):
    """Select self-attention cache rows (beam reordering) in every layer."""
    for layer in caches:
        for name in ("k", "v"):
            layer["self"][name] = layer["self"][name].index_select(0, rows)


def pad_sources(sources, pad):
    """List of id lists -> LongTensor [B, S], right-padded as the tokenizer does."""
    width = max(len(s) for s in sources)
    return torch.tensor([s + [pad] * (width - len(s)) for s in sources], dtype=torch.long)


def step_logits(model, ids, enc, src_mask, caches):
    """Feed the last token of ids [rows, cur_len] -> float logits [rows, V]."""
    return model.decode(ids[:, -1:], enc, src_mask, caches, offset=ids.shape[1] - 1)[:, -1, :].float()


def cut_after_eos(row, eos):
    """Generated ids up to and including the first eos."""
    for i, token in enumerate(row):
        if token in eos:
            return row[: i + 1]
    return row


def greedy_search(model, src, opts, margins=None):
    """HF `_sample` without sampling. src [B, S] padded ids -> id lists."""
    batch = src.shape[0]
    src_mask = model.padding_mask(src, model.cfg["pad_token_id"])
    enc = model.encode(src)
    caches = new_caches(model)
    ids = torch.full((batch, 1), opts.decoder_start_token_id, dtype=torch.long)
    unfinished = torch.ones(batch, dtype=torch.long)
    eos = torch.tensor(opts.eos, dtype=torch.long)
    processors = None
    while True:
        logits = step_logits(model, ids, enc, src_mask, caches)
        processors = processors or LogitsProcessors(opts, logits.shape[-1])
        scores = processors(ids, logits)
        next_tokens = torch.argmax(scores, dim=-1)
        if margins is not None:
            top2 = scores.topk(2, dim=-1).values
            for i in range(batch):
                if unfinished[i]:
                    margins.note(i, (top2[i, 0] - top2[i, 1]).item())
        if opts.eos:
            next_tokens = next_tokens * unfinished + opts.pad_token_id * (1 - unfinished)
        ids = torch.cat([ids, next_tokens[:, None]], dim=-1)
        stop = torch.isin(ids[:, -1], eos) | (ids.shape[1] >= opts.max_length)
        unfinished = unfinished & ~stop
        if unfinished.max() == 0:
            break
    return [cut_after_eos(row, opts.eos) for row in ids[:, 1:].tolist()]


class BeamHypotheses:
    """The finished hypotheses of one input (HF BeamHypotheses)."""

    def __init__(self, opts, margins=None, item=0):
        self.num_beams, self.length_penalty = opts.num_beams, opts.length_penalty
        self.early_stopping, self.max_length = opts.early_stopping, opts.max_length
        self.beams = []  # (score, ids incl. start, without eos)
        self.worst_score = 1e9
        self.margins, self.item = margins, item

    def __len__(self):
        return len(self.beams)

    def _note(self, gap):
        if self.margins is not None:
            self.margins.note(self.item, gap)

    def add(self, hyp, sum_logprobs, generated_len):
        """Keep hyp if among the num_beams best by sum / len ** penalty."""
        score = sum_logprobs / (generated_len ** self.length_penalty)
        if len(self) < self.num_beams or score > self.worst_score:
            self.beams.append((score, hyp))
            if len(self) > self.num_beams:
                ranked = sorted((s, idx) for idx, (s, _) in enumerate(self.beams))
                del self.beams[ranked[0][1]]
                self.worst_score = ranked[1][0]
            else:
                self.worst_score = min(score, self.worst_score)

    def is_done(self, best_sum_logprobs, cur_len, prompt_len=1):
        """cur_len: length the candidate scores were computed for (start incl.)."""
        if len(self) < self.num_beams:
            return False
        if self.early_stopping is True:
            return True
        if self.early_stopping == "never" and self.length_penalty > 0.0:
            best = best_sum_logprobs / (self.max_length - prompt_len) ** self.length_penalty
        else:
            best = best_sum_logprobs / (cur_len - prompt_len) ** self.length_penalty
        if best != self.worst_score:  # equal by construction when the best candidate just finished as the worst
            self._note(self.worst_score - best)
        return self.worst_score >= best

    def best(self):
        """The winning hypothesis, as finalize's sort and pop choose it."""
        ranked = sorted(self.beams, key=lambda x: x[0])
        if self.margins is not None and len(ranked) > 1:
            self._note(ranked[-1][0] - ranked[-2][0])
        return ranked.pop()[1]


def beam_search(model, src, opts, margins=None):
    """HF `_beam_search` with BeamSearchScorer. src [B, S] -> id lists."""
    batch, beams = src.shape[0], opts.num_beams
    src_mask = model.padding_mask(src, model.cfg["pad_token_id"]).repeat_interleave(beams, dim=0)
    enc = model.encode(src).repeat_interleave(beams, dim=0)
    caches = new_caches(model)
    ids = torch.full((batch * beams, 1), opts.decoder_start_token_id, dtype=torch.long)
    beam_scores = torch.zeros(batch, beams)
    beam_scores[:, 1:] = -1e9
    beam_scores = beam_scores.view(-1)  # float[batch * beams]
    hyps = [BeamHypotheses(opts, margins, i) for i in range(batch)]
    done = [False] * batch
    keep = max(2, 1 + len(opts.eos)) * beams
    eos = torch.tensor(opts.eos, dtype=torch.long)
    processors = None
    while True:
        logits = step_logits(model, ids, enc, src_mask, caches)
        processors = processors or LogitsProcessors(opts, logits.shape[-1])
        scores = processors(ids, logits.log_softmax(dim=-1)) + beam_scores[:, None]
        vocab = scores.shape[-1]
        scores = scores.view(batch, beams * vocab)
        top_scores, top = torch.topk(scores, keep, dim=1, largest=True, sorted=True)
        if margins is not None:
            wide_scores, wide = torch.topk(scores, keep + beams, dim=1)
            for i in range(batch):
                if not done[i]:
                    margins.note_candidates(i, wide_scores[i].tolist(), (wide[i] % vocab).tolist(), beams, opts.eos)
        beam_scores, next_tokens, rows = process_candidates(
            ids, top_scores, top % vocab, torch.div(top, vocab, rounding_mode="floor"), hyps, done, opts)
        ids = torch.cat([ids[rows], next_tokens[:, None]], dim=-1)
        reorder_caches(caches, rows)
        if all(done) or ids.shape[1] >= opts.max_length or (opts.eos and torch.isin(ids[:, -1], eos).all()):
            break
    return finalize(ids, beam_scores, hyps, done, opts)


def process_candidates(ids, top_scores, top_tokens, top_beams, hyps, done, opts):
    """BeamSearchScorer.process: candidates [batch, keep] (sorted) -> next
    beam scores float[batch*beams], tokens long[batch*beams], source rows."""
    batch, beams = len(hyps), opts.num_beams
    cur_len = ids.shape[-1] + 1  # the length the candidate scores belong to
    next_scores = torch.zeros(batch, beams, dtype=top_scores.dtype)
    next_tokens = torch.zeros(batch, beams, dtype=torch.long)
    next_rows = torch.zeros(batch, beams, dtype=torch.long)
    for b in range(batch):
        if done[b]:
            next_tokens[b, :] = opts.pad_token_id  # scores and rows stay 0, as HF pads
            continue
        filled = 0
        for rank in range(top_scores.shape[1]):
            token, score = top_tokens[b, rank].item(), top_scores[b, rank]
            row = b * beams + top_beams[b, rank].item()
            if token in opts.eos:
                if rank >= beams:
                    continue
                hyps[b].add(ids[row].tolist(), score.item(), cur_len - 1)
            else:
                next_scores[b, filled], next_tokens[b, filled], next_rows[b, filled] = score, token, row
                filled += 1
            if filled == beams:
                break
        if filled < beams:
            raise ValueError("fewer non-eos candidates than beams")
        done[b] = done[b] or hyps[b].is_done(top_scores[b].max().item(), cur_len)
    return next_scores.view(-1), next_tokens.view(-1), next_rows.view(-1)


def finalize(ids, beam_scores, hyps, done, opts):
    """BeamSearchScorer.finalize: open beams join, best hypothesis per input,
    eos appended when it fits (i.e. shorter than max_length)."""
    beams = opts.num_beams
    for b, hyp in enumerate(hyps):
        if done[b]:
            continue
        for row in range(b * beams, (b + 1) * beams):
            hyp.add(ids[row].tolist(), beam_scores[row].item(), ids.shape[1] - 1)
    out = []
    for hyp in hyps:
        best = hyp.best()
        tail = [opts.eos[0]] if opts.eos and len(best) < opts.max_length else []
        out.append(best[1:] + tail)
    return out


def generate(model, sources, opts, margins=None):
    """sources: list of source id lists (each ending in eos, as MarianTokenizer
    gives them) -> list of generated id lists (see the module docstring).
    margins: optional Margins(len(sources)) to fill."""
    src = pad_sources(sources, model.cfg["pad_token_id"])
    with torch.no_grad():
        if opts.num_beams == 1:
            return greedy_search(model, src, opts, margins)
        return beam_search(model, src, opts, margins)


# --- self-test -------------------------------------------------------------

def tiny_model(seed):
    """A 1+1 layer random Marian, untied output, 7 tokens (eos 0, pad 6);
    weights scaled so that outputs vary with the source."""
    cfg = {"vocab_size": 7, "d_model": 16, "encoder_layers": 1, "decoder_layers": 1,
           "encoder_attention_heads": 2, "decoder_attention_heads": 2, "encoder_ffn_dim": 32,
           "decoder_ffn_dim": 32, "activation_function": "gelu", "max_position_embeddings": 16,
           "pad_token_id": 6, "eos_token_id": 0, "scale_embedding": False, "tie_word_embeddings": False}
    torch.manual_seed(seed)
    model = MarianMT(cfg)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "layer_norm" in name:
                p.normal_(1.0 if name.endswith("weight") else 0.0, 0.1)
            elif p.dim() == 2:
                p.normal_(0, 3.0 / math.sqrt(p.shape[1]))
            else:
                p.normal_(0, 0.1)
    return model.eval()


def exhaustive_best(model, source, opts):
    """Best output by enumerating every token sequence and scoring it with
    full (uncached) decoding: finished ones by sum / n_generated ** penalty,
    unfinished ones at max_length likewise with n = max_length - 1."""
    vocab = model.final_logits_bias.shape[-1]
    processors = LogitsProcessors(opts, vocab)
    src = torch.tensor([source])
    enc, src_mask = model.encode(src), model.padding_mask(src, model.cfg["pad_token_id"])
    best, best_score = None, -math.inf
    for n in range(1, opts.max_length):
        seqs = [s for s in itertools.product(range(vocab), repeat=n)
                if not any(t in opts.eos for t in s[:-1]) and (n == opts.max_length - 1 or s[-1] in opts.eos)]
        tgt = torch.tensor([[opts.decoder_start_token_id, *s] for s in seqs])
        logp = model.decode(tgt[:, :-1], enc.expand(len(seqs), -1, -1), src_mask).float().log_softmax(-1)
        total = torch.zeros(len(seqs))
        for t in range(n):
            step = processors(tgt[:, : t + 1], logp[:, t])
            total += step.gather(1, tgt[:, t + 1: t + 2])[:, 0]
        scores = total / n ** opts.length_penalty
        i = int(scores.argmax())
        if scores[i].item() > best_score:
            best, best_score = list(seqs[i]), scores[i].item()
    return best


def self_test():
    """TAP checks of the search itself (see the module docstring)."""
    count, failed = 0, 0

    def ok(cond, name):
        nonlocal count, failed
        count += 1
        failed += not cond
        print(f"{'' if cond else 'not '}ok {count} - {name}")

    sources = [[3, 2, 4, 0], [5, 0], [2, 2, 3, 4, 5, 3, 0]]
    with torch.no_grad():
        for seed in range(3):
            model = tiny_model(seed)
            for beams, extra in ((1, {}), (3, {}), (3, {"early_stopping": True}),
                                 (4, {"early_stopping": "never", "length_penalty": 0.6})):
                raw = dict(DEFAULTS, eos_token_id=0, pad_token_id=6, decoder_start_token_id=6,
                           bad_words_ids=[[6]], max_length=9, num_beams=beams, **extra)
                opts = resolve_options(raw, True, 16)
                batched = generate(model, sources, opts)
                single = [generate(model, [s], opts)[0] for s in sources]
                ok(batched == single, f"seed {seed} beams {beams} {extra}: batched == one at a time")
            opts = resolve_options(dict(DEFAULTS, eos_token_id=0, pad_token_id=6, decoder_start_token_id=6,
                                        bad_words_ids=[[6]], max_length=9), True, 16)
            src = pad_sources(sources, 6)
            enc, mask = model.encode(src), model.padding_mask(src, 6)
            ids = torch.tensor([[6, 3, 5, 1, 2, 2, 4, 1, 3]] * 2)
            full = model.decode(ids[:, :8], enc[:2], mask[:2])
            caches = new_caches(model)
            step = [model.decode(ids[:, t: t + 1], enc[:2], mask[:2], caches, offset=t) for t in range(8)]
            diff = (torch.cat(step, dim=1) - full).abs().max().item()
            ok(diff < 1e-5, f"seed {seed}: cached decoding == recomputed (max diff {diff:.1e})")
            greedy = generate(model, sources[:1], opts)[0]
            ids = torch.tensor([[6]])
            for _ in range(8):
                logits = model.decode(ids, enc[:1], mask[:1])[:, -1]
                logits[:, 6] = -math.inf
                ids = torch.cat([ids, logits.argmax(-1, keepdim=True)], dim=1)
                if ids[0, -1] == 0:
                    break
            ok(greedy == ids[0, 1:].tolist(), f"seed {seed}: greedy == recomputed argmax path")
            for extra in ({"length_penalty": 1.0}, {"length_penalty": 2.0},
                          {"length_penalty": 0.6, "renormalize_logits": True},
                          {"length_penalty": 1.5, "forced_eos_token_id": 0},
                          {"length_penalty": 0.0, "min_length": 3}):
                raw = dict(DEFAULTS, eos_token_id=0, pad_token_id=6, decoder_start_token_id=6,
                           bad_words_ids=[[6]], max_length=5, num_beams=512, early_stopping="never", **extra)
                opts = resolve_options(raw, True, 16)
                for source in sources:
                    got = generate(model, [source], opts)[0]
                    want = exhaustive_best(model, source, opts)
                    ok(got == want, f"seed {seed} {extra} src {source}: wide beam == exhaustive {want}")
    for name, cond in hand_checks():
        ok(cond, name)
    print(f"1..{count}")
    return failed == 0


def hand_checks():
    """(name, passed) for the HF rules worked out by hand on made-up scores."""
    base = dict(DEFAULTS, eos_token_id=0, pad_token_id=4, decoder_start_token_id=4,
                bad_words_ids=[[4], [0]], max_length=4, min_length=3, renormalize_logits=True)
    logits = torch.tensor([[1.0, 2.0, 3.0, 0.0, 5.0]])
    plain = LogitsProcessors(resolve_options(dict(base, min_length=0, renormalize_logits=False), True, None), 5)
    yield "eos is taken out of bad_words_ids, pad banned", \
        torch.equal(plain(torch.tensor([[4]]), logits), torch.tensor([[1.0, 2.0, 3.0, 0.0, -math.inf]]))
    proc = LogitsProcessors(resolve_options(base, True, None), 5)
    short = proc(torch.tensor([[4, 1]]), logits)
    want = torch.tensor([[-math.inf, 2.0, 3.0, 0.0, -math.inf]]).log_softmax(-1)
    yield "min_length bans eos, renormalized after the bans", torch.equal(short, want)
    forced = dict(base, forced_eos_token_id=0, min_length=0, renormalize_logits=False)
    last = LogitsProcessors(resolve_options(forced, True, None), 5)(torch.tensor([[4, 1, 2]]), logits)
    yield "forced eos at max_length - 1", torch.equal(last, torch.tensor([[0.0] + [-math.inf] * 4]))
    yield "max_length 20 left at default becomes 21", \
        resolve_options(dict(base, max_length=20), False, 512).max_length == 21
    yield "max_length 20 given explicitly stays", resolve_options(dict(base, max_length=20), True, 512).max_length == 20
    yield "max_new_tokens counts after the start token", \
        resolve_options(dict(base, max_new_tokens=7), False, 512).max_length == 8
    opts = resolve_options(dict(base, num_beams=2, length_penalty=1.0, min_length=0), True, None)
    hyps, done = [BeamHypotheses(opts)], [False]
    ids = torch.tensor([[4, 1], [4, 2]])
    # candidates by rank: eos from beam 1 (kept), token 3 of beam 0, eos of beam 0 at rank 2 (dropped), token 2
    scores, tokens, rows = process_candidates(
        ids, torch.tensor([[-1.0, -2.0, -3.0, -4.0]]), torch.tensor([[0, 3, 0, 2]]),
        torch.tensor([[1, 0, 0, 1]]), hyps, done, opts)
    yield "eos of rank < num_beams finishes with score sum / generated_len", \
        hyps[0].beams == [(-1.0 / 2, [4, 2])] and not done[0]
    yield "eos of rank >= num_beams is dropped, non-eos fill the beams", \
        tokens.tolist() == [3, 2] and rows.tolist() == [0, 1] and scores.tolist() == [-2.0, -4.0]
    hyp = BeamHypotheses(opts)
    hyp.add([4, 1], -2.0, 2)
    hyp.add([4, 2, 2], -3.3, 3)
    hyp.add([4, 3, 3], -3.3, 3)
    yield "a score equal to the worst is not kept", len(hyp) == 2 and [4, 3, 3] not in [h for _, h in hyp.beams]
    # finished scores -1.0 and -1.1: worst -1.1; the bound is best_sum / (cur_len - 1)
    yield "is_done False: -2.4 / 2 = -1.2 <= worst -1.1, done", hyp.is_done(-2.4, 3) is True
    yield "is_done False: -2.0 / 2 = -1.0 > worst -1.1, not done", hyp.is_done(-2.0, 3) is False
    never = BeamHypotheses(resolve_options(dict(base, num_beams=2, early_stopping="never", max_length=6), True, None))
    never.add([4, 1], -2.0, 2)
    never.add([4, 2, 2], -3.3, 3)
    yield "is_done never: bound at max_length, -2.4 / 5 > -1.1, not done", never.is_done(-2.4, 3) is False
    yield "is_done never: -6.0 / 5 = -1.2 <= -1.1, done", never.is_done(-6.0, 3) is True
    early = BeamHypotheses(resolve_options(dict(base, num_beams=2, early_stopping=True), True, None))
    early.add([4, 1], -9.0, 2)
    yield "is_done True: not before num_beams finished", early.is_done(0.0, 3) is False
    early.add([4, 1, 1], -9.0, 3)
    yield "is_done True: as soon as num_beams finished", early.is_done(0.0, 3) is True
    tie = BeamHypotheses(opts)
    tie.add([4, 1], -2.0, 2)
    tie.add([4, 2], -2.0, 2)
    yield "equal scores: the hypothesis added last wins", tie.best() == [4, 2]


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--self-test", action="store_true", help="run the TAP self-test")
    args = ap.parse_args()
    if not args.self_test:
        ap.error("nothing to do (use --self-test)")
    sys.exit(0 if self_test() else 1)
