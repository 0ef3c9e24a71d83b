#!/usr/bin/python3
"""Figure 11: our embed() beside ONNX Runtime, the runtime of the peers
(transformers.js, Lantern's text_embedding, pg_onnx, sentence-transformers'
ONNX path), on the same weights and the same STS dev sentences,
tokenization included on both sides, one thread each.

    /usr/bin/python3 bench/peer.py   (bench/run calls it)

Needs a running cluster (PG* environment) with bert-minilm preloaded, node
(Debian's nodejs) and npm for bench/peer's packages (installed here with
`npm ci --ignore-scripts` when missing). Models: the bert-minilm fixture
(all-MiniLM-L6-v2's shape, random weights) and the shipped
models/bert-embed-en (loaded here with load_model). Each is exported by
bench/peer/export.py (torch.onnx.export of the PyTorch reference, and the
dynamic per-tensor int8 graph transformers.js ships as q8) into
bench/results/onnx/NAME, and run by bench/peer/worker.mjs (onnxruntime-node,
Hugging Face's JavaScript tokenizer, mean pooling and normalization in
JavaScript). Before anything is timed, the peer's float32 embeddings of 16
sentences are compared with the PyTorch reference's (max |diff| must be
below PARITY_TOLERANCE, else the model's rows are not timed), and so are
ours.

Inputs: the first 512 sentences of STS dev (BENCH_QUICK: 128), batch 1
(ours: embed(text) once per row of a table, in one SELECT; the peer: one
run() per sentence) and batch 32 (ours: embed(text[]) over arrays of 32;
the peer: 32 sentences padded to their longest per run()). Each repeat
runs ours, then the peer's fp32 and int8 graphs, back to back; ratios are
medians of the per-repeat ratios. Our int8 column: the same model loaded
again with load_model(..., "precision" => 'int8'), when load_model accepts
that argument (otherwise "n/a").
"""
import json
import os
import subprocess
import sys

from common import (BERT_FIXTURE, FIXTURES, QUICK, REPEATS, VIEWS, load_table, median, real_array,
                    section, sts_sentences, table)
from pg import PgError, Session, text_array

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEER = os.path.join(ROOT, "bench", "peer")
ONNX_DIR = os.path.join(ROOT, "bench", "results", "onnx")
MODELS = {BERT_FIXTURE: os.path.join(FIXTURES, BERT_FIXTURE),
          "bert-embed-en": os.path.join(ROOT, "models", "bert-embed-en")}
N_SENTENCES = 128 if QUICK else 512
PARITY_TOLERANCE = 1e-5
BATCHES = (1, 32)


class Peer:
    """A bench/peer/worker.mjs process for one model: JSON lines in and out."""

    def __init__(self, model_dir, onnx_dir):
        self.proc = subprocess.Popen(["node", os.path.join(PEER, "worker.mjs"), model_dir, onnx_dir],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def call(self, **request):
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        reply = json.loads(self.proc.stdout.readline() or '{"error": "the peer exited"}')
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return reply

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def install_peer():
    """bench/peer/node_modules from package-lock.json, when missing."""
    if not os.path.isdir(os.path.join(PEER, "node_modules")):
        subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=PEER, check=True,
                       stdout=subprocess.DEVNULL)


def export(name, model_dir, sentences):
    """The ONNX graphs of a model, exported when missing or older than its
    weights -> their directory."""
    out = os.path.join(ONNX_DIR, name)
    stamp = os.path.join(out, "reference.json")
    weights = os.path.join(model_dir, "model.safetensors")
    if not os.path.exists(stamp) or os.path.getmtime(stamp) < os.path.getmtime(weights):
        os.makedirs(out, exist_ok=True)
        texts = os.path.join(out, "sentences.txt")
        with open(texts, "w", encoding="utf-8") as f:
            f.writelines(s + "\n" for s in sentences)
        subprocess.run(["/usr/bin/python3", os.path.join(PEER, "export.py"), model_dir, out, texts],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return out


def our_int8_model(session, name, model_dir):
    """The name of the model loaded again in int8, or None while load_model
    has no precision argument."""
    has_precision = session.value(
        "SELECT count(*) FROM pg_proc WHERE proname = 'load_model' AND 'precision' = ANY(proargnames)")
    if has_precision == "0":
        return None
    int8 = name + "-int8"
    if session.value("SELECT count(*) FROM transformer.models WHERE name = $1", [int8]) == "0":
        session.execute("SELECT set_config('transformer.model_directory', $1, false)",
                        [os.path.dirname(model_dir)])
        session.execute("SELECT transformer.load_model($1, $2, \"precision\" => 'int8')", [int8, name])
    return int8


def our_statement(model, batch):
    if batch == 1:
        return f"SELECT count(embed(s, '{model}')) FROM peer_sent"
    return f"SELECT count(e) FROM peer_batch, embed(a, '{model}') AS e"


def our_parity(session, model, reference):
    """Largest |ours - PyTorch reference| over the reference's sentences."""
    ours = [real_array(r[0]) for r in session.execute(
        f"SELECT embed(s, '{model}') FROM unnest($1::text[]) WITH ORDINALITY AS t(s, i) ORDER BY i",
        [text_array(reference["texts"])])]
    return max(abs(a - b) for u, v in zip(ours, reference["embeddings"]) for a, b in zip(u, v))


def measure(session, peer, name, int8_name, sentences):
    """{batch: {"ours", "ours_int8", "ort_fp32", "ort_int8": [(wall, cpu)]}}."""
    results = {}
    for batch in BATCHES:
        runs = {"ours": [], "ours_int8": [], "ort_fp32": [], "ort_int8": []}
        for _ in range(REPEATS):
            runs["ours"].append(session.timed(our_statement(name, batch))[:2])
            if int8_name:
                runs["ours_int8"].append(session.timed(our_statement(int8_name, batch))[:2])
            for variant in ("fp32", "int8"):
                r = peer.call(op="embed", variant=variant, texts=sentences, batch=batch)
                runs["ort_" + variant].append((r["wall"], r["cpu"]))
        results[batch] = runs
    return results


def report(name, results, n):
    for label, idx, unit in VIEWS:
        print(f"  -- {name}, {label}; sentences per {unit}, medians of {REPEATS}; "
              "ratios: medians of the per-repeat ratios")
        rows = []
        for batch, runs in results.items():
            def rate(key):
                return f"{median([n / x[idx] for x in runs[key]]):.1f}" if runs[key] else "n/a"

            def ratio(a, b):
                if not runs[a]:
                    return "n/a"
                return f"{median([y[idx] / x[idx] for x, y in zip(runs[a], runs[b])]):.2f}"
            rows.append([batch, rate("ours"), rate("ort_fp32"), rate("ort_int8"), rate("ours_int8"),
                         ratio("ours", "ort_fp32"), ratio("ours", "ort_int8"), ratio("ours_int8", "ort_int8")])
        table(["batch", "ours fp32", "ORT fp32", "ORT int8", "ours int8", "ours/ORT fp32",
               "ours fp32/ORT int8", "ours int8/ORT int8"], rows)


def main():
    sentences = sts_sentences(N_SENTENCES)
    section(f"11. Embeddings beside ONNX Runtime (onnxruntime-node, 1 thread each), {N_SENTENCES} STS dev "
            f"sentences, tokenization included on both sides, {REPEATS} repeats")
    try:
        install_peer()
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"  skipped: could not install bench/peer's npm packages ({e})")
        return
    session = Session()
    session.execute("SET transformer.threads = 1")
    load_table(session, "peer_sent", sentences)
    session.execute("DROP TABLE IF EXISTS peer_batch")
    session.execute("CREATE TABLE peer_batch AS SELECT (id - 1) / 32 AS id, array_agg(s ORDER BY id) AS a "
                    "FROM peer_sent GROUP BY 1")
    for name, model_dir in MODELS.items():
        if not os.path.exists(os.path.join(model_dir, "model.safetensors")):
            print(f"  {name}: skipped, {model_dir} is not there")
            continue
        if session.value("SELECT count(*) FROM transformer.models WHERE name = $1", [name]) == "0":
            # paths must lie inside transformer.model_directory
            session.execute("SELECT set_config('transformer.model_directory', $1, false)",
                            [os.path.dirname(model_dir)])
            session.execute("SELECT transformer.load_model($1, $1)", [name])
        onnx_dir = export(name, model_dir, sentences[:16])
        with open(os.path.join(onnx_dir, "reference.json")) as f:
            reference = json.load(f)
        peer = Peer(model_dir, onnx_dir)
        check = peer.call(op="check")
        ours = our_parity(session, name, reference)
        print(f"  {name}: ONNX Runtime {check['ort']}; max |diff| from the PyTorch reference over "
              f"{len(reference['texts'])} embeddings: ORT fp32 {check['fp32']:.1e}, ours {ours:.1e} "
              f"(tolerance {PARITY_TOLERANCE:g}); ORT int8 {check['int8']:.1e}, "
              f"least cosine {check['int8_min_cos']:.4f}")
        if check["fp32"] > PARITY_TOLERANCE or ours > PARITY_TOLERANCE:
            print(f"  {name}: not timed, the two sides do not compute the same embeddings")
            peer.close()
            continue
        int8_name = our_int8_model(session, name, model_dir)
        # warm-up: pages touched, thread pools started, JIT of node
        for batch in BATCHES:
            session.execute(our_statement(name, batch) + (" WHERE id <= 8" if batch == 1 else " WHERE id = 0"))
            for variant in ("fp32", "int8"):
                peer.call(op="embed", variant=variant, texts=sentences[:32], batch=batch)
        report(name, measure(session, peer, name, int8_name, sentences), N_SENTENCES)
        peer.close()
    session.close()


if __name__ == "__main__":
    try:
        main()
    except PgError as e:
        print(f"  failed: {e}")
        sys.exit(1)
