#!/usr/bin/python3
"""The PyTorch side of the speed benchmarks: a process that keeps the
reference models (test/reference/bert.py, marian.py + generate.py) loaded
and times them on request.

    OMP_NUM_THREADS=T OPENBLAS_NUM_THREADS=T /usr/bin/python3 bench/torch_worker.py T

(bench/common.py's TorchWorker starts it so.) Reads one JSON command per
line on stdin, answers one JSON line on stdout:

  {"op": "bert", "path": DIR}            load a sentence-transformers dir
  {"op": "embed", "texts": [...], "batch": B, "vectors": false}
      tokenize (untimed), then embed in chunks of B texts, padded to the
      longest of each chunk as Hugging Face does; reply: wall and cpu
      seconds of the forward passes (pooling and normalisation included),
      lengths (token counts, [CLS] and [SEP] included) and, when asked,
      the vectors
  {"op": "marian", "path": DIR}          load a MarianMTModel dir
  {"op": "translate", "texts": [...], "batch": B, "beams": K}
      tokenize (untimed, with truncation), then generate.py's greedy
      (K = 1) or beam search with the directory's generation config and
      num_beams = K, in chunks of B sources; reply: wall and cpu seconds,
      ids (generated ids per text, </s> included) and texts (decoded)

cpu is the process CPU time of all threads (time.process_time). Errors
come back as {"error": message}.
"""
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "test", "reference"))

import torch  # noqa: E402

from bert import SentenceEmbedder  # noqa: E402
from generate import generate, generation_options  # noqa: E402
from marian import load_checkpoint  # noqa: E402
from marian_tokenizer import MarianTokenizer  # noqa: E402


class Worker:
    def __init__(self):
        self.embedder = None
        self.marian = None  # (model dir, model, tokenizer)

    def op_bert(self, path):
        self.embedder = SentenceEmbedder(path)
        return {"torch": torch.__version__, "threads": torch.get_num_threads()}

    def op_embed(self, texts, batch, vectors=False):
        ids = self.embedder.encode_ids(texts)
        cpu0, t0 = time.process_time(), time.perf_counter()
        out = self.embedder.embed_ids(ids, batch_size=batch) if batch > 1 else \
            torch.cat([self.embedder.embed_ids([x], batch_size=1) for x in ids])
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        reply = {"wall": wall, "cpu": cpu, "lengths": [len(x) for x in ids]}
        if vectors:
            reply["vectors"] = out.tolist()
        return reply

    def op_marian(self, path):
        self.marian = (path, load_checkpoint(path), MarianTokenizer(path))
        return {"torch": torch.__version__, "threads": torch.get_num_threads()}

    def op_translate(self, texts, batch, beams):
        path, model, tok = self.marian
        opts = generation_options(path, num_beams=beams)
        sources = [tok.encode(t, truncation=True) for t in texts]
        cpu0, t0 = time.process_time(), time.perf_counter()
        ids = []
        for i in range(0, len(sources), batch):
            ids += generate(model, sources[i: i + batch], opts)
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        return {"wall": wall, "cpu": cpu, "ids": ids, "texts": [tok.decode(x) for x in ids]}


def main():
    threads = int(sys.argv[1])
    torch.set_num_threads(threads)
    worker = Worker()
    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd.pop("op")
        try:
            with torch.no_grad():
                reply = getattr(worker, "op_" + op)(**cmd)
        except Exception as e:  # reported to the driver, which stops
            reply = {"error": f"{op}: {type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
