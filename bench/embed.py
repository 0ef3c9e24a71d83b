#!/usr/bin/python3
"""Figure 1: embedding throughput of SQL embed() on the bert-minilm fixture
(all-MiniLM-L6-v2's shape, random weights), beside the PyTorch reference
(test/reference/bert.py) on the same weights and thread count, and the
GFLOP/s reached against the machine's own cblas_sgemm peak (bench/sgemm_peak.c)
measured in the same run.

    /usr/bin/python3 bench/embed.py SGEMM_PEAK_BINARY   (bench/run calls it)

Needs a running cluster (PG* environment) with bert-minilm preloaded.
Inputs: the first sentences of STS dev, both columns row by row: 512 for
batch 32 (embed(text[]) over arrays of 32 sentences), the first 64 of them
for batch 1 (embed(text) once per row of a table); BENCH_QUICK: 64 and 16.
Rates are per sentence, so the two batch sizes compare. PyTorch: the same
sentences, tokenized beforehand (tokenization is not timed on its side, it
is on ours), one sentence per forward pass for batch 1, chunks of 32 padded
to their longest for batch 32. Each repeat runs ours then PyTorch, back to
back, so that both see the same load of a shared machine.

FLOPs counted (matrix products of the encoder only; embeddings, LayerNorm,
softmax, GELU and pooling are left out), for a text of L tokens:
    layers * (L * 2 * (4 H^2 + 2 H I) + 4 L^2 H)
i.e. per token and layer 2 * (4 H^2 + 2 H I) for the Q, K, V, output and
two feed-forward products, plus 4 L H for the attention scores and the
weighted sum over L keys. L counts [CLS] and [SEP]; padding is not counted.
"""
import json
import os
import subprocess
import sys

from common import (BERT_FIXTURE, FIXTURES, QUICK, REPEATS, THREADS, VIEWS, TorchWorker, load_table,
                    median, real_array, section, sts_sentences, table)
from pg import PgError, Session

N_SENTENCES = {1: 16, 32: 64} if QUICK else {1: 64, 32: 512}  # by batch size
N_PARITY = 16  # sentences compared with PyTorch
SGEMM_N = 1024 if QUICK else 2048


def encoder_flops(cfg, lengths):
    """Matrix-product FLOPs of the encoder over texts of the given token
    counts (formula in the module docstring)."""
    h, i, layers = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    return layers * sum(n * 2 * (4 * h * h + 2 * h * i) + 4 * n * n * h for n in lengths)


def sgemm_peak(binary, threads):
    """{median_gflops, best_gflops, cpu_gflops, fma_gflops, isa} of
    bench/sgemm_peak.c (fma_gflops: one core's FMA peak per CPU-second)."""
    out = subprocess.run([binary, str(SGEMM_N), str(threads), "5"], check=True,
                         capture_output=True, text=True).stdout.split()
    peak = {out[k]: out[k + 1] for k in range(4, len(out), 2)}
    return {k: (v if k == "isa" else float(v)) for k, v in peak.items()}


def sql_statement(batch):
    """The timed statement: the first N_SENTENCES[batch] sentences embedded,
    batch at a time."""
    if batch == 1:
        return f"SELECT count(embed(s, '{BERT_FIXTURE}')) FROM bench_sent WHERE id <= {N_SENTENCES[1]}"
    return f"SELECT count(e) FROM bench_batch, embed(a, '{BERT_FIXTURE}') AS e"


def parity(session, worker, sentences):
    """Largest |ours - PyTorch| over all embedding components: ours one
    sentence per call, PyTorch padded batches of 32."""
    ours = [real_array(r[0]) for r in session.execute(
        f"SELECT embed(s, '{BERT_FIXTURE}') FROM bench_sent WHERE id <= $1 ORDER BY id", [len(sentences)])]
    theirs = worker.call(op="embed", texts=sentences, batch=32, vectors=True)["vectors"]
    return max(abs(a - b) for u, v in zip(ours, theirs) for a, b in zip(u, v))


def measure(session, worker, batch, sentences):
    """REPEATS x (ours, then PyTorch) over the sentences -> (ours, theirs),
    lists of (wall, cpu) seconds; (message, None) when the statement fails."""
    ours, theirs = [], []
    for _ in range(REPEATS):
        try:
            wall, cpu, _ = session.timed(sql_statement(batch))
        except PgError as e:
            return str(e).splitlines()[0], None
        ours.append((wall, cpu))
        r = worker.call(op="embed", texts=sentences, batch=batch)
        theirs.append((r["wall"], r["cpu"]))
    return ours, theirs


def main():
    binary = sys.argv[1]
    fixture = os.path.join(FIXTURES, BERT_FIXTURE)
    with open(os.path.join(fixture, "config.json")) as f:
        cfg = json.load(f)
    sentences = sts_sentences(N_SENTENCES[32])
    inputs = {batch: sentences[:n] for batch, n in N_SENTENCES.items()}

    session = Session()
    load_table(session, "bench_sent", sentences)
    session.execute("DROP TABLE IF EXISTS bench_batch")
    session.execute("CREATE TABLE bench_batch AS SELECT (id - 1) / 32 AS id, array_agg(s ORDER BY id) AS a "
                    "FROM bench_sent GROUP BY 1")

    section(f"1. Embeddings: {BERT_FIXTURE} fixture (hidden {cfg['hidden_size']}, {cfg['num_hidden_layers']} "
            f"layers, intermediate {cfg['intermediate_size']}), STS dev sentences, {REPEATS} repeats")
    results = []  # (threads, batch, ours, theirs)
    peaks = {}  # threads -> sgemm_peak figures
    for threads in THREADS:
        peaks[threads] = sgemm_peak(binary, threads)
        worker = TorchWorker(threads)
        info = worker.call(op="bert", path=fixture)
        session.execute(f"SET transformer.threads = {threads}")
        # warm-up of both sides (thread pools started, pages touched)
        for sql in (f"SELECT count(embed(s, '{BERT_FIXTURE}')) FROM bench_sent WHERE id <= 4",
                    f"SELECT count(e) FROM bench_batch, embed(a, '{BERT_FIXTURE}') AS e WHERE id = 0"):
            try:
                session.execute(sql)
            except PgError:
                pass  # measure() reports it
        if threads == THREADS[0]:
            lengths = worker.call(op="embed", texts=sentences, batch=32)["lengths"]
            flops = {b: encoder_flops(cfg, lengths[:n]) / 1e9 for b, n in N_SENTENCES.items()}
            print(f"  PyTorch {info['torch']}; {sum(lengths) / len(lengths):.1f} tokens per sentence "
                  f"([CLS] and [SEP] included); max |ours - PyTorch| over every component of "
                  f"{N_PARITY} embeddings: {parity(session, worker, sentences[:N_PARITY]):.2e}")
        worker.call(op="embed", texts=sentences[:32], batch=1)  # warm-up
        for batch, texts in inputs.items():
            results.append((threads, batch) + measure(session, worker, batch, texts))
        worker.close()
    session.close()

    print("  encoder FLOPs: layers * sum over texts of (L * 2(4H^2 + 2HI) + 4 L^2 H), L tokens per text: "
          + ", ".join(f"{flops[b]:.1f} GFLOP for the {N_SENTENCES[b]} sentences of batch {b}" for b in flops))
    print(f"  cblas_sgemm peak, N = {SGEMM_N} square, same OpenBLAS, this run: " + "; ".join(
        f"{t} thread{'s' if t > 1 else ''} {p['median_gflops']:.1f} GFLOP/s wall "
        f"(best {p['best_gflops']:.1f}), {p['cpu_gflops']:.1f} per CPU-second" for t, p in peaks.items()))
    first = peaks[THREADS[0]]
    print(f"  FMA peak of one core ({first['isa']} fused multiply-adds on registers, bench/sgemm_peak.c): "
          f"{first['fma_gflops']:.1f} GFLOP per CPU-second; 'of FMA peak' divides by it times the threads "
          "(wall clock) or by it (per CPU-second)")
    for label, idx, unit in VIEWS:
        print(f"  -- {label}; medians of {REPEATS}; ours/torch = median of the per-repeat ratios")
        rows = []
        for threads, batch, ours, theirs in results:
            if theirs is None:
                rows.append([threads, batch, "ERROR: " + ours, "", "", "", "", ""])
                continue
            n = N_SENTENCES[batch]
            peak = peaks[threads]["median_gflops" if idx == 0 else "cpu_gflops"]
            fma = peaks[THREADS[0]]["fma_gflops"] * (threads if idx == 0 else 1)
            g = median([flops[batch] / x[idx] for x in ours])
            rows.append([threads, batch, f"{median([n / x[idx] for x in ours]):.1f}",
                         f"{median([n / x[idx] for x in theirs]):.1f}",
                         f"{median([y[idx] / x[idx] for x, y in zip(ours, theirs)]):.2f}",
                         f"{g:.1f}", f"{100 * g / peak:.0f}%", f"{100 * g / fma:.0f}%" if fma else "n/a"])
        table(["threads", "batch", f"ours sent/{unit}", f"torch sent/{unit}", "ours/torch",
               f"ours GFLOP/{unit}", "of sgemm peak", "of FMA peak"], rows)


if __name__ == "__main__":
    main()
