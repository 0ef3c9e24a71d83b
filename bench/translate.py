#!/usr/bin/python3
"""Figure 2: translation throughput of SQL translate() on the
marian-ende-size fixture (opus-mt-en-de's size, random weights), beside the
PyTorch reference (test/reference/marian.py with its KV cache, decoding by
generate.py as Hugging Face's generate does) on the same weights, the same
inputs and the same thread count.

    /usr/bin/python3 bench/translate.py        (bench/run calls it)

Needs a running cluster (PG* environment) with marian-ende-size preloaded.
Inputs: Multi30k validation English. Batch 1: translate(text) once per
sentence over the first 2 sentences; batch 32: one translate(text[]) call
over the first 32 (BENCH_QUICK: 1 and a batch of 8, first thread count
only). Greedy (num_beams 1) and beam 4; the fixture's generation config
otherwise (max_length 32, forced </s> at the end, <pad> banned). Then batch
1 on the shipped translator (models/marian-en-de, trained weights: a
random fixture's int8 translations wander off, and run to max_length),
float32 and loaded in int8 (load_model(..., 'int8')), greedy and beam 4,
against float32 PyTorch on the same weights: the issue's int8 translation
target (beam 4 at least 4x PyTorch per CPU-second). Tokens are PyTorch's
count; "same text" says how many int8 translations equal float32 ones.

Target tokens are counted on the PyTorch side: the generated ids of each
sentence, </s> included, decoder start token not (one decoder step each; for
beam search the tokens of the returned hypothesis, not of every beam). The
SQL side returns text only; its token counts are the same when both sides
produce the same translations, which the report checks sentence by sentence
("same text"). PyTorch tokenizes beforehand (not timed); ours tokenizes and
detokenizes inside the timed statement.
"""
import os

from common import (FIXTURES, MARIAN_FIXTURE, QUICK, REPEATS, ROOT, THREADS, VIEWS, TorchWorker, median,
                    multi30k, section, table)
from pg import PgError, Session, text_array

SENTENCES = {1: 1, 8: 8} if QUICK else {1: 2, 32: 32}  # sentences by batch size
BEAMS = (1, 4)
MODELS = os.environ.get("BENCH_MODELS", os.path.join(ROOT, "models"))   # as bench/quality.py
SHIPPED = os.path.join(MODELS, "marian-en-de")
SHIPPED_MODELS = {"": "bench-marian-en-de", "int8": "bench-marian-en-de-int8"}   # precision -> name


def run_sql(session, batch, beams, texts, model=MARIAN_FIXTURE):
    """(wall, cpu, translations) of one timed statement: the texts
    translated `batch` at a time by `model`."""
    if batch == 1:
        sql = (f"SELECT translate(s, '{model}', $2::int) "
               "FROM unnest($1::text[]) WITH ORDINALITY AS t(s, i) ORDER BY i")
    else:
        sql = f"SELECT unnest(translate($1::text[], '{model}', $2::int))"
    wall, cpu, rows = session.timed(sql, [text_array(texts), beams])
    return wall, cpu, [r[0] for r in rows]


def measure(session, worker, batch, beams, texts, model=MARIAN_FIXTURE):
    """REPEATS x (ours with `model`, then PyTorch) -> dict with the (wall,
    cpu) lists, PyTorch's token count and the number of identical
    translations; or {"error": message} when the statement fails."""
    ours, theirs = [], []
    tokens = same = None
    for _ in range(REPEATS):
        try:
            wall, cpu, got = run_sql(session, batch, beams, texts, model)
        except PgError as e:
            return {"error": str(e)}
        ours.append((wall, cpu))
        r = worker.call(op="translate", texts=texts, batch=batch, beams=beams)
        theirs.append((r["wall"], r["cpu"]))
        tokens = sum(len(x) for x in r["ids"])
        same = sum(a == b for a, b in zip(got, r["texts"]))
    return {"ours": ours, "theirs": theirs, "tokens": tokens, "same": same}


def main():
    fixture = os.path.join(FIXTURES, MARIAN_FIXTURE)
    texts = multi30k("val.en", max(SENTENCES.values()))
    threads_list = THREADS[:1] if QUICK else THREADS
    section(f"2. Translation: {MARIAN_FIXTURE} fixture, Multi30k val English, {REPEATS} repeats")
    session = Session()
    results = []
    for threads in threads_list:
        worker = TorchWorker(threads)
        info = worker.call(op="marian", path=fixture)
        session.execute(f"SET transformer.threads = {threads}")
        # warm-up of both sides (thread pools started, pages touched)
        try:
            run_sql(session, 1, 1, texts[:1])
        except PgError:
            pass  # measure() reports it
        worker.call(op="translate", texts=texts[:1], batch=1, beams=1)
        for batch, n in SENTENCES.items():
            for beams in BEAMS:
                results.append((threads, batch, f"{beams}", n, measure(session, worker, batch, beams, texts[:n])))
        worker.close()
        worker = TorchWorker(threads)
        worker.call(op="marian", path=SHIPPED)
        session.execute("SELECT set_config('transformer.model_directory', $1, false)", [MODELS])
        for precision, name in SHIPPED_MODELS.items():
            try:
                session.execute(f"SELECT transformer.load_model('{name}', 'marian-en-de', "
                                f"'{precision or 'exact'}')")
                run_sql(session, 1, 1, texts[:1], name)
                for beams in BEAMS:
                    results.append((threads, 1, f"{beams} shipped {precision or 'float32'}", SENTENCES[1],
                                    measure(session, worker, 1, beams, texts[:SENTENCES[1]], name)))
                session.execute(f"SELECT transformer.unload_model('{name}')")
            except PgError as e:
                results.append((threads, 1, f"4 shipped {precision}", SENTENCES[1], {"error": str(e)}))
        worker.close()
    session.close()

    print(f"  PyTorch {info['torch']}; tokens/s = PyTorch's generated-token count / time (bench/README.md)")
    for label, idx, unit in VIEWS:
        print(f"  -- {label}; medians of {REPEATS}; ours/torch = median of the per-repeat ratios")
        rows = []
        for threads, batch, beams, n, r in results:
            kind, _, precision = beams.partition(" ")
            head = [threads, batch, ("greedy" if kind == "1" else f"beam {kind}") + (f" {precision}" if precision else ""), n]
            if "error" in r:
                rows.append(head + ["ERROR: " + r["error"], "", "", "", ""])
                continue
            rows.append(head + [r["tokens"], f"{median([r['tokens'] / x[idx] for x in r['ours']]):.1f}",
                                f"{median([r['tokens'] / x[idx] for x in r['theirs']]):.1f}",
                                f"{median([y[idx] / x[idx] for x, y in zip(r['ours'], r['theirs'])]):.2f}",
                                f"{r['same']}/{n}"])
        table(["threads", "batch", "search", "sentences", "tokens", f"ours tok/{unit}", f"torch tok/{unit}",
               "ours/torch", "same text"], rows)


if __name__ == "__main__":
    main()
