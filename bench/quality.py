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
"""
import os
import sys
import time

from bleu import corpus_bleu
from common import QUICK, ROOT, THREADS, multi30k, read_sts, section
from pg import Session, text_array

sys.path.insert(0, os.path.join(ROOT, "models", "recipes"))
from eval_sts import spearman  # noqa: E402

MODELS = os.environ.get("BENCH_MODELS", os.path.join(ROOT, "models"))
TRANSLATOR, EMBEDDER = "marian-en-de", "bert-embed-en"
N_BLEU = 100 if QUICK else 1000
N_STS = 200 if QUICK else 1500
BATCH = 32


def present(name):
    return os.path.exists(os.path.join(MODELS, name, "config.json"))


def translation_quality(session):
    """BLEU of translate() on test_2016_flickr, greedy and beam 4."""
    sources = multi30k("test_2016_flickr.en", N_BLEU)
    refs = multi30k("test_2016_flickr.de", N_BLEU)
    for beams in (1, 4):
        t0 = time.perf_counter()
        hyps = []
        for i in range(0, len(sources), BATCH):
            rows = session.execute(f"SELECT unnest(translate($1::text[], '{TRANSLATOR}', $2::int))",
                                   [text_array(sources[i: i + BATCH]), beams])
            hyps += [r[0] for r in rows]
        seconds = time.perf_counter() - t0
        print(f"  {TRANSLATOR}: BLEU {corpus_bleu(hyps, refs).score:.2f} on the first {len(sources)} "
              f"sentences of test_2016_flickr en->de, {'greedy' if beams == 1 else f'beam {beams}'} "
              f"({seconds:.0f} s)")


def embedding_quality(session):
    """Spearman correlation of SQL cosine similarities with STS dev gold."""
    rows = read_sts()[:N_STS]
    t0 = time.perf_counter()
    sims = session.execute(
        f"SELECT 1 - cosine_distance(x.e, y.e) FROM embed($1::text[], '{EMBEDDER}') WITH ORDINALITY x(e, k) "
        f"JOIN embed($2::text[], '{EMBEDDER}') WITH ORDINALITY y(e, k) USING (k) ORDER BY k",
        [text_array([r[0] for r in rows]), text_array([r[1] for r in rows])])
    seconds = time.perf_counter() - t0
    rho = spearman([float(s[0]) for s in sims], [r[2] for r in rows])
    print(f"  {EMBEDDER}: Spearman {rho:.4f} on {len(rows)} STS dev pairs ({seconds:.0f} s)")


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
    session.close()


if __name__ == "__main__":
    main()
