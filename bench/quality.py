#!/usr/bin/python3
"""Figure 5: quality of the shipped default models through SQL.

    /usr/bin/python3 bench/quality.py      (bench/run calls it)

Needs a running cluster (PG* environment, superuser). Loads the shipped
models with transformer.load_model() from the repository's models/
directory (BENCH_MODELS overrides it), each part skipped when its model is
absent:
  models/marian-en-de   BLEU of translate() over Multi30k test_2016_flickr
                        (English -> German, 1,000 sentences; 100 with
                        BENCH_QUICK), greedy and beam 4, in calls of 32
                        sentences, scored against test_2016_flickr.de by
                        bench/bleu.py's corpus_bleu (sacreBLEU's default);
  models/bert-embed-en  Spearman rank correlation between
                        1 - cosine_distance(embed(a), embed(b)) and the gold
                        scores of STS dev (1,500 pairs; 200 with BENCH_QUICK),
                        ranks as models/recipes/eval_sts.py computes them.

Then the same models in each weight precision (load_model's precision:
'exact' keeps the checkpoint's float16, 'float32' widens it at load,
'int8' quantizes it), against float32:
  memory      each image's bytes (transformer.models) and its share of the
              float32 image (targets: float16 at most 52%, int8 at most 30%);
  embedder    the cosine of every int8 embedding with its float32
              embedding over every distinct STS dev sentence (target: all
              at least 0.999), and the int8 model's STS dev Spearman
              (target: within 0.005 of float32's);
  translator  BLEU of the int8 model, greedy and beam 4 (target: within
              0.5 of float32's, which equals the exact model's above);
  speed       embed() in sentences per second, one text per call (batch 1)
              and 32 per call, float32 vs exact vs int8, at one thread,
              medians of BENCH_REPEATS runs measured in this one run.
"""
import os
import sys
import time

import numpy as np

from bleu import corpus_bleu
from common import QUICK, REPEATS, ROOT, THREADS, median, multi30k, read_sts, section
from pg import Session, text_array

sys.path.insert(0, os.path.join(ROOT, "models", "recipes"))
from eval_sts import spearman  # noqa: E402

MODELS = os.environ.get("BENCH_MODELS", os.path.join(ROOT, "models"))
TRANSLATOR, EMBEDDER = "marian-en-de", "bert-embed-en"
N_BLEU = 100 if QUICK else 1000
N_STS = 200 if QUICK else 1500
BATCH = 32
PRECISIONS = ("float32", "exact", "int8")
N_SPEED = 64 if QUICK else 256


def present(name):
    return os.path.exists(os.path.join(MODELS, name, "config.json"))


def translation_quality(session, model=TRANSLATOR):
    """BLEU of translate() on test_2016_flickr, greedy and beam 4:
    {beams: score}."""
    sources = multi30k("test_2016_flickr.en", N_BLEU)
    refs = multi30k("test_2016_flickr.de", N_BLEU)
    scores = {}
    for beams in (1, 4):
        t0 = time.perf_counter()
        hyps = []
        for i in range(0, len(sources), BATCH):
            rows = session.execute("SELECT unnest(translate($1::text[], $2, $3::int))",
                                   [text_array(sources[i: i + BATCH]), model, beams])
            hyps += [r[0] for r in rows]
        seconds = time.perf_counter() - t0
        scores[beams] = corpus_bleu(hyps, refs).score
        print(f"  {model}: BLEU {scores[beams]:.2f} on the first {len(sources)} "
              f"sentences of test_2016_flickr en->de, {'greedy' if beams == 1 else f'beam {beams}'} "
              f"({seconds:.0f} s)")
    return scores


def embedding_quality(session, model=EMBEDDER):
    """Spearman correlation of SQL cosine similarities with STS dev gold."""
    rows = read_sts()[:N_STS]
    t0 = time.perf_counter()
    sims = session.execute(
        "SELECT 1 - cosine_distance(x.e, y.e) FROM embed($1::text[], $3) WITH ORDINALITY x(e, k) "
        "JOIN embed($2::text[], $3) WITH ORDINALITY y(e, k) USING (k) ORDER BY k",
        [text_array([r[0] for r in rows]), text_array([r[1] for r in rows]), model])
    seconds = time.perf_counter() - t0
    rho = spearman([float(s[0]) for s in sims], [r[2] for r in rows])
    print(f"  {model}: Spearman {rho:.4f} on {len(rows)} STS dev pairs ({seconds:.0f} s)")
    return rho


def precision_name(name, precision):
    """The name a model is loaded under in `precision`."""
    return name if precision == "exact" else f"{name}-{precision}"


def load_precisions(session, name):
    """Load `name` in every precision not loaded yet."""
    for precision in PRECISIONS:
        model = precision_name(name, precision)
        if session.value("SELECT count(*) FROM transformer.models WHERE name = $1", [model]) == "0":
            session.execute("SELECT transformer.load_model($1, $2, $3)", [model, name, precision])


def memory(session, name):
    """Each precision's image bytes and share of the float32 image."""
    sizes = {p: int(session.value("SELECT bytes FROM transformer.models WHERE name = $1",
                                  [precision_name(name, p)])) for p in PRECISIONS}
    formats = {p: session.value("SELECT precision FROM transformer.models WHERE name = $1",
                                [precision_name(name, p)]) for p in PRECISIONS}
    cells = ", ".join(f"{p} ({formats[p]}) {sizes[p] / 1e6:.1f} MB = {100 * sizes[p] / sizes['float32']:.1f}%"
                      for p in PRECISIONS)
    print(f"  {name} image: {cells} of float32 (targets: float16 <= 52%, int8 <= 30%)")


def embeddings(session, model, texts):
    """float32 array [len(texts), dim] of embed() in calls of BATCH texts."""
    out = []
    for i in range(0, len(texts), BATCH):
        rows = session.execute("SELECT e FROM embed($1::text[], $2) WITH ORDINALITY x(e, k) ORDER BY k",
                               [text_array(texts[i: i + BATCH]), model])
        out += [[float(v) for v in r[0].strip("{}").split(",")] for r in rows]
    return np.array(out, dtype=np.float64)


def embedding_precision(session):
    """int8 embeddings against float32 ones: cosines, Spearman."""
    pairs = read_sts()[:N_STS]
    texts = sorted({t for a, b, _ in pairs for t in (a, b)})
    wide = embeddings(session, precision_name(EMBEDDER, "float32"), texts)
    narrow = embeddings(session, precision_name(EMBEDDER, "int8"), texts)
    cos = (wide * narrow).sum(1) / np.linalg.norm(wide, axis=1) / np.linalg.norm(narrow, axis=1)
    print(f"  {EMBEDDER} int8 vs float32: cosine min {cos.min():.5f}, median {np.median(cos):.5f}, "
          f"{(cos >= 0.999).sum()}/{len(cos)} at least 0.999, over the distinct sentences of "
          f"{len(pairs)} STS dev pairs")
    rho = {p: embedding_quality(session, precision_name(EMBEDDER, p)) for p in ("float32", "int8")}
    print(f"  {EMBEDDER} STS dev Spearman int8 - float32: {rho['int8'] - rho['float32']:+.4f} (target: within 0.005)")


def translation_precision(session):
    """BLEU of the int8 translator against float32's."""
    bleu = {p: translation_quality(session, precision_name(TRANSLATOR, p)) for p in ("float32", "int8")}
    for beams in (1, 4):
        print(f"  {TRANSLATOR} BLEU int8 - float32, {'greedy' if beams == 1 else f'beam {beams}'}: "
              f"{bleu['int8'][beams] - bleu['float32'][beams]:+.2f} (target: within 0.5)")


def embedding_speed(session):
    """embed() sentences per second at batch 1 and 32 in each precision
    (one thread; medians of REPEATS)."""
    texts = [a for a, _, _ in read_sts()[:N_SPEED]]
    session.execute("SET transformer.threads = 1")
    rates = {}
    for precision in PRECISIONS:
        model = precision_name(EMBEDDER, precision)
        session.execute("SELECT embed('warm up', $1)", [model])
        for batch in (1, 32):
            runs = []
            for _ in range(REPEATS):
                t0 = time.perf_counter()
                if batch == 1:
                    session.execute("SELECT count(embed(t, $2)) FROM unnest($1::text[]) t",
                                    [text_array(texts), model])
                else:
                    for i in range(0, len(texts), batch):
                        session.execute("SELECT count(*) FROM embed($1::text[], $2)",
                                        [text_array(texts[i: i + batch]), model])
                runs.append(len(texts) / (time.perf_counter() - t0))
            rates[precision, batch] = median(runs)
    for batch in (1, 32):
        cells = ", ".join(f"{p} {rates[p, batch]:.0f}" for p in PRECISIONS)
        print(f"  {EMBEDDER} embed() batch {batch}, sentences/s (1 thread, {len(texts)} STS dev sentences): "
              f"{cells}; int8/float32 {rates['int8', batch] / rates['float32', batch]:.2f}x")


def main():
    section("5. Quality of the shipped models")
    wanted = [name for name in (TRANSLATOR, EMBEDDER) if present(name)]
    for name in (TRANSLATOR, EMBEDDER):
        if name not in wanted:
            print(f"  {name}: skipped, {os.path.join(MODELS, name)} is not there")
    if not wanted:
        return
    session = Session()
    session.execute(f"SET transformer.threads = {max(THREADS)}")
    session.execute("SELECT set_config('transformer.model_directory', $1, false)", [MODELS])
    for name in wanted:
        if session.value("SELECT count(*) FROM transformer.models WHERE name = $1", [name]) == "0":
            session.execute("SELECT transformer.load_model($1, $1)", [name])
    if TRANSLATOR in wanted:
        translation_quality(session)
    if EMBEDDER in wanted:
        embedding_quality(session)
    print()
    print("  Weight precision (load_model's precision), against float32:")
    for name in wanted:
        load_precisions(session, name)
        memory(session, name)
    if EMBEDDER in wanted:
        embedding_precision(session)
        embedding_speed(session)
    session.execute(f"SET transformer.threads = {max(THREADS)}")
    if TRANSLATOR in wanted:
        translation_precision(session)
    session.close()


if __name__ == "__main__":
    main()
