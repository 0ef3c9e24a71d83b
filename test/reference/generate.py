#!/usr/bin/python3
"""Greedy and beam search exactly as Hugging Face transformers' `generate`
does them for MarianMTModel, over the reference model of marian.py.

Followed: transformers v4.57 -- generation/utils.py (`_sample` with
do_sample=False, `_beam_search` and its helpers `_get_top_k_continuations`,
`_get_running_beams_for_next_iteration`, `_update_finished_beams`,
`_check_early_stop_heuristic`, `_beam_search_has_unfinished_sequences`;
`_get_logits_processor`, `_prepare_generated_length`,
`_prepare_special_tokens`, `_prepare_generation_config`),
generation/configuration_utils.py (`GenerationConfig`, `from_model_config`),
configuration_utils.py (`PretrainedConfig`) and MarianConfig.  v4.50
rewrote `_beam_search` without BeamSearchScorer; v4.46 differs from it in
one result-changing rule, noted below.

Options (`generation_options`): from generation_config.json when the model
directory has one (config.json's generation keys are then ignored, as
`GenerationConfig.from_pretrained` replaces the config-derived one), a key it
omits or sets to null taking GenerationConfig's default (max_length 20,
num_beams 1, length_penalty 1.0, early_stopping False, and None for eos,
pad, bos, decoder start, forced eos and bad words); else
`GenerationConfig.from_model_config(MarianConfig(**config.json))`: a key
config.json omits takes MarianConfig's constructor default (eos_token_id 0,
pad_token_id 58100, decoder_start_token_id 58100, forced_eos_token_id 0) or
PretrainedConfig's (max_length 20, num_beams 1, ...), and a key set to null
is dropped, taking GenerationConfig's default.  Keyword overrides act as
`generate(**kwargs)`.  As `_prepare_generated_length` does, max_new_tokens
sets max_length = max_new_tokens + 1, and a max_length of 20 (not overridden)
becomes min(21, max_position_embeddings).  Options this reference does not
implement (sampling, repetition penalties, multi-token bad words, ...) raise
NotImplementedError unless inert.

Decoding: the decoder starts from decoder_start_token_id (bos when unset);
max_length counts that start token, so at most max_length - 1 tokens are
generated.  Logits processors, in HF's order: bad_words_ids (single tokens,
minus eos) add -inf; min_length sets eos to -inf while the sequence (start
included) is shorter; forced_bos_token_id at length 1; forced_eos_token_id
at length max_length - 1 sets every other token to -inf and it to 0;
renormalize_logits applies log_softmax last.  Greedy applies them to the raw
logits and takes the first argmax.  Beam search applies them to
log_softmax(logits), adds the beam's running sum, keeps the top
max(2, 1 + n_eos) * num_beams candidates of each input over all its beams
(torch.topk), and marks those that end (eos, or length max_length reached).
The num_beams best that do not end become the running beams (ended ones
with -1e9 added, should fewer go on).  An ended candidate of rank
< num_beams joins the input's num_beams finished hypotheses (a torch.topk
over the old and new) with score sum / generated_len ** length_penalty
(generated_len counts the eos, not the start token), unless the input has
stopped: all num_beams finished with early_stopping True, or the early-stop
heuristic satisfied.  The heuristic, at the new length: all num_beams slots
finished and the best running beam's sum / (length - 1) ** length_penalty
(max_length - 1 with early_stopping "never" and length_penalty > 0) not
above the worst finished score.  (v4.46's BeamSearchScorer bounded with the
best candidate of the step instead, which may be one that just ended, and
so stopped later in some cases.)  The loop ends when no input can improve,
every input is full with early_stopping True, or every candidate ended (at
max_length).  The output is the best finished hypothesis.  The encoder runs
once; decoder self-attention keys and values grow by one position per step
and are reordered by parent beam; cross-attention keys and values are
computed at the first step and reused.

Returned, per input: HF's output row minus the start token, cut after the
first eos (the rest is padding): the generated ids up to and including eos,
or max_length - 1 ids without eos when a hypothesis ran to max_length
(with forced_eos_token_id set, every output ends in eos).

    /usr/bin/python3 test/reference/generate.py --self-test
checks the search on a tiny random model: cached against recomputed
decoding, batched against one input at a time, and a beam wide enough to
hold every prefix against exhaustive enumeration of all outputs; then the
option and beam rules worked out by hand.
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
# Without generation_config.json, generate() uses GenerationConfig.
# from_model_config(MarianConfig(**config.json)) (v4.57): a key config.json
# omits takes the constructor default of MarianConfig, else of
# PretrainedConfig (its _get_global_generation_defaults, and None for the
# token ids); then keys whose value is None are dropped, so GenerationConfig's
# default applies to them (and to a key set to null).
MARIAN_CONFIG_DEFAULTS = {
    "eos_token_id": 0, "pad_token_id": 58100, "decoder_start_token_id": 58100, "forced_eos_token_id": 0,
}
PRETRAINED_CONFIG_DEFAULTS = {
    "max_length": 20, "min_length": 0, "do_sample": False, "early_stopping": False, "num_beams": 1,
    "num_beam_groups": 1, "diversity_penalty": 0.0, "temperature": 1.0, "top_k": 50, "top_p": 1.0,
    "typical_p": 1.0, "repetition_penalty": 1.0, "length_penalty": 1.0, "no_repeat_ngram_size": 0,
    "encoder_no_repeat_ngram_size": 0, "bad_words_ids": None, "num_return_sequences": 1,
    "output_scores": False, "return_dict_in_generate": False, "forced_bos_token_id": None,
    "forced_eos_token_id": None, "remove_invalid_values": False, "exponential_decay_length_penalty": None,
    "suppress_tokens": None, "begin_suppress_tokens": None,
    "bos_token_id": None, "pad_token_id": None, "eos_token_id": None, "decoder_start_token_id": None,
}


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


def model_config_generation_keys(config):
    """config.json -> the generation keys GenerationConfig.from_model_config
    sees: the class defaults filled in, None values dropped."""
    merged = dict(PRETRAINED_CONFIG_DEFAULTS, **MARIAN_CONFIG_DEFAULTS)
    merged.update(config)
    return {k: v for k, v in merged.items() if v is not None}


def generation_options(model_dir, **overrides):
    """Options as model.generate(**overrides) would use them for the model in
    `model_dir`; overrides set to None count as not given."""
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    path = os.path.join(model_dir, "generation_config.json")
    if os.path.exists(path):
        with open(path) as f:
            source = json.load(f)
    else:
        source = model_config_generation_keys(config)
    for key, inert in INERT.items():
        if source.get(key) is not None and source[key] != inert:
            raise NotImplementedError(f"generation option {key}={source[key]!r} is not implemented")
    opts = {k: source[k] if source.get(k) is not None else d for k, d in DEFAULTS.items()}
    overrides = {k: v for k, v in overrides.items() if v is not None}
    unknown = set(overrides) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"unknown generation options {sorted(unknown)}")
    opts.update(overrides)
    return resolve_options(opts, "max_length" in overrides, config.get("max_position_embeddings", 1024))


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


NOT_A_SCORE = -1.0e9  # HF's stand-in for "no score", added to mask


@dataclasses.dataclass
class BeamState:
    """The search state of v4.57's `_beam_search`, per input and beam, at
    decoded length cur_len (start token included)."""
    running: torch.Tensor  # long [batch, beams, max_length]: running beams, [.., 0] = start
    running_scores: torch.Tensor  # float [batch, beams]: their sums of log-probabilities
    finished: torch.Tensor  # long [batch, beams, max_length]: finished hypotheses, best first
    finished_scores: torch.Tensor  # float [batch, beams]: their penalised scores (-1e9: none)
    is_finished: torch.Tensor  # bool [batch, beams]: slot holds a finished hypothesis
    improvable: torch.Tensor  # bool [batch, 1]: the early-stop heuristic is not yet satisfied

    @classmethod
    def start(cls, batch, beams, opts):
        """Beam 0 live with score 0, the others -1e9, nothing finished."""
        running = torch.full((batch, beams, opts.max_length), -1, dtype=torch.long)
        running[:, :, 0] = opts.decoder_start_token_id
        scores = torch.zeros(batch, beams)
        scores[:, 1:] = NOT_A_SCORE
        return cls(running, scores, running.clone(), torch.full((batch, beams), NOT_A_SCORE),
                   torch.zeros(batch, beams, dtype=torch.bool), torch.ones(batch, 1, dtype=torch.bool))


def gather_beams(tensor, index):
    """tensor [batch, n, ...] -> [batch, k, ...] at index [batch, k]."""
    while index.dim() < tensor.dim():
        index = index.unsqueeze(-1)
    return torch.take_along_dim(tensor, index, dim=1)


def beam_step(state, log_probs, cur_len, opts, margins=None):
    """One step of v4.57's `_beam_search` after the processors: log_probs
    float [batch * beams, V] (processed log-softmax of the running beams at
    length cur_len) -> (the beams' parent rows long [batch * beams] for the
    cache, whether every candidate ended).  Updates state in place:
    _get_top_k_continuations, _get_running_beams_for_next_iteration,
    _update_finished_beams and _check_early_stop_heuristic."""
    batch, beams = state.running_scores.shape
    vocab = log_probs.shape[-1]
    keep = max(2, 1 + len(opts.eos)) * beams
    total = (log_probs.view(batch, beams, vocab) + state.running_scores[:, :, None]).view(batch, beams * vocab)
    top_scores, top = torch.topk(total, keep, dim=1)  # sorted, best first
    top_beams, top_tokens = torch.div(top, vocab, rounding_mode="floor"), top % vocab
    if margins is not None:
        wide_scores, wide = torch.topk(total, min(keep + beams, beams * vocab), dim=1)
        for i in range(batch):
            if state.improvable[i, 0] and not (state.is_finished[i].all() and opts.early_stopping is True):
                margins.note_candidates(i, wide_scores[i].tolist(), (wide[i] % vocab).tolist(), beams, opts.eos)
    top_seqs = gather_beams(state.running, top_beams)
    top_seqs[:, :, cur_len] = top_tokens
    ends = torch.isin(top_tokens, torch.tensor(opts.eos, dtype=torch.long)) | (cur_len + 1 >= opts.max_length)

    # the best beams that do not end go on
    going_on = top_scores + ends.float() * NOT_A_SCORE
    chosen = torch.topk(going_on, beams, dim=1).indices
    state.running = gather_beams(top_seqs, chosen)
    state.running_scores = gather_beams(going_on, chosen)
    rows = (gather_beams(top_beams, chosen) + torch.arange(batch)[:, None] * beams).view(-1)

    # ended candidates of rank < num_beams join the finished ones, unless the
    # input stopped (all finished with early_stopping True, or the heuristic)
    joins = ends & (torch.arange(keep) < beams)[None, :]
    penalised = top_scores / ((cur_len + 1 - 1) ** opts.length_penalty)
    full = state.is_finished.all(dim=1, keepdim=True) & (opts.early_stopping is True)
    penalised = penalised + full.float() * NOT_A_SCORE  # three additions, as HF rounds them
    penalised = penalised + (~state.improvable).float() * NOT_A_SCORE
    penalised = penalised + (~joins).float() * NOT_A_SCORE
    merged_scores = torch.cat((state.finished_scores, penalised), dim=1)
    best = torch.topk(merged_scores, beams, dim=1).indices
    state.finished = gather_beams(torch.cat((state.finished, top_seqs), dim=1), best)
    state.finished_scores = gather_beams(merged_scores, best)
    state.is_finished = gather_beams(torch.cat((state.is_finished, joins), dim=1), best)

    # can a running beam still beat the worst finished one, at the new length?
    new_len = cur_len + 1
    length = opts.max_length - 1 if opts.early_stopping == "never" and opts.length_penalty > 0.0 else new_len - 1
    best_possible = state.running_scores[:, :1] / (length ** opts.length_penalty)
    worst = torch.where(state.is_finished, state.finished_scores.min(dim=1, keepdim=True).values,
                        torch.tensor(NOT_A_SCORE))
    if margins is not None:
        for i in range(batch):
            if state.improvable[i, 0] and state.is_finished[i].all():
                margins.note(i, (worst[i, 0] - best_possible[i, 0]).item())
    state.improvable = state.improvable & (best_possible > worst).any(dim=1, keepdim=True)
    return rows, bool(ends.all())


def beam_search(model, src, opts, margins=None):
    """HF v4.57 `_beam_search`. src [B, S] padded ids -> id lists."""
    batch, beams = src.shape[0], opts.num_beams
    src_mask = model.padding_mask(src, model.cfg["pad_token_id"]).repeat_interleave(beams, dim=0)
    enc = model.encode(src).repeat_interleave(beams, dim=0)
    caches = new_caches(model)
    state = BeamState.start(batch, beams, opts)
    processors = None
    cur_len = 1
    while True:
        ids = state.running[:, :, :cur_len].reshape(batch * beams, cur_len)
        logits = step_logits(model, ids, enc, src_mask, caches)
        processors = processors or LogitsProcessors(opts, logits.shape[-1])
        rows, all_ended = beam_step(state, processors(ids, logits.log_softmax(dim=-1)), cur_len, opts, margins)
        reorder_caches(caches, rows)
        cur_len += 1
        # _beam_search_has_unfinished_sequences, over the whole batch
        if (not state.improvable.any() or (state.is_finished.all() and opts.early_stopping is True)
                or all_ended):
            break
    if margins is not None:
        for i in range(batch):
            margins.note(i, (state.finished_scores[i, 0] - state.finished_scores[i, 1]).item()
                         if beams > 1 else math.inf)
    return [cut_after_eos(row, opts.eos) for row in state.finished[:, 0, 1:].tolist()]


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
    for name, cond in beam_hand_checks(base):
        yield name, cond
    for name, cond in option_hand_checks():
        yield name, cond


def beam_state(opts, cur_len, running_scores, finished_scores=None):
    """A BeamState for one input at length cur_len: running beam b holds
    start, then token b + 1 repeated; finished_scores (penalised, None for an
    empty slot) fill the finished slots."""
    beams = opts.num_beams
    state = BeamState.start(1, beams, opts)
    for b in range(beams):
        state.running[0, b, 1:cur_len] = b + 1
    state.running_scores = torch.tensor([running_scores])
    for slot, score in enumerate(finished_scores or []):
        if score is not None:
            state.finished_scores[0, slot] = score
            state.is_finished[0, slot] = True
    return state


def beam_hand_checks(base):
    """(name, passed) for v4.57's beam step on made-up log-probabilities."""
    inf = math.inf
    opts = resolve_options(dict(base, num_beams=2, length_penalty=1.0, min_length=0, max_length=8), True, None)
    state = beam_state(opts, 2, [0.0, -1.0])
    # ranks: eos of beam 1 (-1.0), token 3 of beam 0 (-2.0), eos of beam 0 (-3.0), token 2 of beam 1 (-4.0)
    log_probs = torch.tensor([[-3.0, -9.0, -9.0, -2.0, -inf], [0.0, -9.0, -3.0, -9.0, -inf]])
    rows, all_ended = beam_step(state, log_probs, 2, opts)
    yield "eos of rank < num_beams finishes with score sum / generated_len", \
        state.finished_scores[0].tolist() == [-0.5, NOT_A_SCORE] and state.finished[0, 0, :3].tolist() == [4, 2, 0] \
        and state.is_finished[0].tolist() == [True, False]
    yield "eos of rank >= num_beams is dropped, the best that go on are the beams", \
        state.running[0, :, :3].tolist() == [[4, 1, 3], [4, 2, 2]] and state.running_scores[0].tolist() == [-2.0, -4.0] \
        and rows.tolist() == [0, 1] and not all_ended
    yield "not stopped while a finished slot is empty", bool(state.improvable[0, 0])

    three = resolve_options(dict(base, num_beams=3, length_penalty=1.0, min_length=0, max_length=8), True, None)
    one_live = [0.0, NOT_A_SCORE, NOT_A_SCORE]
    log_probs = torch.tensor([[-2.0, -2.2, -2.3, -2.4, -2.5]] + [[-9.0] * 5] * 2)
    state = beam_state(three, 2, one_live, [-0.9, -1.05, -1.2])
    beam_step(state, log_probs, 2, three)
    yield "finished: the eos at -2.0 / 2 replaces the worst", \
        [round(x, 6) for x in state.finished_scores[0].tolist()] == [-0.9, -1.0, -1.05]
    yield "heuristic (v4.57): best running -2.2 / 2 = -1.1 <= worst -1.05, stopped " \
        "(v4.46's bound, the ended -2.0 / 2 = -1.0, would go on)", not bool(state.improvable[0, 0])
    state = beam_state(three, 2, one_live, [-0.9, -1.05, -1.2])
    beam_step(state, log_probs.clone().index_put_((torch.tensor([0]), torch.tensor([1])), torch.tensor(-2.05)),
              2, three)
    yield "heuristic: best running -2.05 / 2 = -1.025 > worst -1.05, goes on", bool(state.improvable[0, 0])
    never = resolve_options(dict(base, num_beams=3, length_penalty=1.0, min_length=0, max_length=6,
                                 early_stopping="never"), True, None)
    state = beam_state(never, 2, one_live, [-0.9, -1.05, -1.2])
    beam_step(state, log_probs, 2, never)
    yield "heuristic never: bound at max_length, -2.2 / 5 > -1.05, goes on", bool(state.improvable[0, 0])
    state = beam_state(three, 2, one_live, [-0.9, -1.05, -1.2])
    state.improvable[0, 0] = False
    beam_step(state, log_probs, 2, three)
    yield "a stopped input adds no finished hypothesis", \
        [round(x, 6) for x in state.finished_scores[0].tolist()] == [-0.9, -1.05, -1.2]
    early = resolve_options(dict(base, num_beams=3, length_penalty=1.0, min_length=0, max_length=8,
                                 early_stopping=True), True, None)
    state = beam_state(early, 2, one_live, [-0.9, -1.05, -1.2])
    beam_step(state, log_probs, 2, early)
    yield "early_stopping True: a full input adds no finished hypothesis", \
        [round(x, 6) for x in state.finished_scores[0].tolist()] == [-0.9, -1.05, -1.2]
    state = beam_state(three, 7, one_live, [-0.9, -1.05, -1.2])
    _, all_ended = beam_step(state, log_probs, 7, three)
    yield "at max_length every candidate ends, the top num_beams join", \
        all_ended and [round(x, 4) for x in state.finished_scores[0].tolist()] == [-0.2857, -0.3143, -0.3286]


def option_hand_checks():
    """(name, passed) for where generation_options takes each value from."""
    import tempfile
    base = {"vocab_size": 10, "pad_token_id": 9, "max_position_embeddings": 64, "decoder_start_token_id": 9}

    def opts_for(config, gen=None, **overrides):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "config.json"), "w") as f:
                json.dump(config, f)
            if gen is not None:
                with open(os.path.join(d, "generation_config.json"), "w") as f:
                    json.dump(gen, f)
            return generation_options(d, **overrides)

    o = opts_for(base)
    yield "no generation_config.json: MarianConfig's forced eos 0 and eos 0, max_length 20 -> 21", \
        (o.forced_eos_token_id, o.eos, o.max_length, o.num_beams, o.bad_words) == (0, [0], 21, 1, [])
    o = opts_for(dict(base, forced_eos_token_id=None, max_length=30, num_beams=3))
    yield "config.json's null forced_eos_token_id forces nothing; its max_length, num_beams apply", \
        (o.forced_eos_token_id, o.max_length, o.num_beams) == (None, 30, 3)
    o = opts_for(dict(base, forced_eos_token_id=0, max_length=30, num_beams=3), {"eos_token_id": 0, "bos_token_id": 9})
    yield "generation_config.json's omissions take GenerationConfig's defaults, not config.json's", \
        (o.forced_eos_token_id, o.max_length, o.num_beams, o.decoder_start_token_id) == (None, 21, 1, 9)
    o = opts_for(base, {"decoder_start_token_id": 9, "max_new_tokens": 5}, max_length=12)
    yield "no eos in generation_config.json: none; max_new_tokens wins over max_length", \
        (o.eos, o.max_length) == ([], 6)
    o = opts_for(dict(base, max_position_embeddings=16))
    yield "a default max_length is capped by max_position_embeddings", o.max_length == 16


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--self-test", action="store_true", help="run the TAP self-test")
    args = ap.parse_args()
    if not args.self_test:
        ap.error("nothing to do (use --self-test)")
    sys.exit(0 if self_test() else 1)
