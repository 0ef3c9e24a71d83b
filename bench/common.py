"""Shared pieces of the benchmark scripts: settings from the environment,
the input sentences, the PyTorch worker processes, medians and tables.

Environment (bench/run sets the first three):
  BENCH_FIXTURES  directory holding the bert-minilm and marian-ende-size
                  fixtures (default: test/fixtures)
  BENCH_DATA_DIR  the cluster's data directory (for the memory figure)
  BENCH_QUICK=1   smoke run: fewer sentences and repeats (~3 minutes)
  BENCH_REPEATS   timed repeats per measurement (default 3, quick 2)
  BENCH_THREADS   thread counts to measure (default "1 2")
"""
import json
import os
import statistics
import subprocess
import sys

from pg import text_array

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "test", "reference"))
from repo_data import multi30k, read_sts  # noqa: E402,F401  (the bench scripts import them from here)
FIXTURES = os.environ.get("BENCH_FIXTURES", os.path.join(ROOT, "test", "fixtures"))
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
REPEATS = int(os.environ.get("BENCH_REPEATS", "2" if QUICK else "3"))
THREADS = [int(t) for t in os.environ.get("BENCH_THREADS", "1 2").split()]
PYTHON = "/usr/bin/python3"

BERT_FIXTURE = "bert-minilm"
MARIAN_FIXTURE = "marian-ende-size"


def sts_sentences(n):
    """The first n sentences of STS dev, taking both columns row by row
    (a1, b1, a2, b2, ...)."""
    out = []
    for a, b, _ in read_sts():
        out += [a, b]
        if len(out) >= n:
            break
    return out[:n]


# The two views of every speed table: (title, index in a (wall, cpu) pair,
# unit of time).
VIEWS = (("wall clock", 0, "s"), ("per CPU-second of the process (all its threads)", 1, "CPU-s"))


def median(xs):
    return statistics.median(xs)


class TorchWorker:
    """A PyTorch reference process (bench/torch_worker.py) running with a
    fixed thread count: OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and
    torch.set_num_threads all set to `threads` before torch starts.
    OMP_WAIT_POLICY=PASSIVE lets its idle OpenMP threads sleep instead of
    spinning: on cores shared with other jobs, libgomp's default spinning
    made PyTorch at 2 threads about 10 times slower at batch 1."""

    def __init__(self, threads):
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
                   MKL_NUM_THREADS=str(threads), OMP_WAIT_POLICY="PASSIVE")
        self.proc = subprocess.Popen([PYTHON, os.path.join(HERE, "torch_worker.py"), str(threads)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True)

    def call(self, **cmd):
        """Send one command (see torch_worker.py), return its reply dict."""
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"torch worker died on {cmd.get('op')}")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"torch worker: {reply['error']}")
        return reply

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def table(header, rows):
    """Print rows (lists of str) under header, columns right-aligned."""
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    for r in [header] + rows:
        print("  " + "  ".join(str(c).rjust(w) for c, w in zip(r, widths)))
    sys.stdout.flush()


def section(title):
    print()
    print(f"== {title}")
    sys.stdout.flush()


def load_table(session, name, texts):
    """(Re)create table `name`(id int, s text) holding texts with ids 1..n."""
    session.execute(f"DROP TABLE IF EXISTS {name}")
    session.execute(f"CREATE TABLE {name} (id int PRIMARY KEY, s text NOT NULL)")
    session.execute(f"INSERT INTO {name} SELECT i, s FROM unnest($1::text[]) WITH ORDINALITY AS t(s, i)",
                    [text_array(texts)])


def real_array(literal):
    """A PostgreSQL real[] literal '{1,2,...}' -> list of float."""
    return [float(x) for x in literal.strip("{}").split(",")]
