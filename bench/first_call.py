#!/usr/bin/python3
"""Figure 3b: what a new connection's first call costs, beside its second.

    /usr/bin/python3 bench/first_call.py   (bench/run calls it)

Needs a running cluster (PG* environment; run as root, or as the server's
user, to read the backends' /proc/PID/stat) with the bert-minilm and
marian-ende-size fixtures preloaded.

For each of embed() (one sentence, bert-minilm) and translate() (one
sentence, marian-ende-size, the model's own generation settings): FRESH
new connections, each timed while connecting (PQconnectdb until the
server is ready for a query: this includes the backend's start), then
running the same call twice. Printed: the medians of the connect time, of
the first and of the second call (wall clock, measured here), of first
minus second per connection, of the backend's CPU time in each call (all
its threads, from /proc: steadier than the wall clock when other jobs share
the cores), and of the minor page faults the backend took during each call
(from /proc/PID/stat): a backend that has not yet touched the model's pages
takes a fault for each few of them. For scale, the same for md5(), a
function built into PostgreSQL: what any first statement in a connection
pays (catalog look-ups, the backend's first use of its code and heap).
"""
from common import BERT_FIXTURE, MARIAN_FIXTURE, QUICK, median, section, table
from pg import Session
import time

FRESH = 10 if QUICK else 20
CALLS = (("embed()", f"SELECT array_length(embed($1, '{BERT_FIXTURE}'), 1)",
          "A man with a hard hat is dancing."),
         ("translate()", f"SELECT translate($1, '{MARIAN_FIXTURE}')",
          "A man is riding a bicycle."),
         ("md5() (built in)", "SELECT md5($1)", "A man is riding a bicycle."))


def minor_faults(pid):
    """Minor page faults of process `pid` so far (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[7])


def fresh_connections(sql, arg):
    """FRESH new connections each running sql twice: lists of connect
    seconds, and (first, second) lists of wall seconds, CPU seconds and
    minor faults."""
    connect, wall, cpu, faults = [], ([], []), ([], []), ([], [])
    for _ in range(FRESH):
        t0 = time.perf_counter()
        s = Session()
        connect.append(time.perf_counter() - t0)
        for k in range(2):
            before = minor_faults(s.pid)
            seconds, cpu_seconds, _ = s.timed(sql, [arg])
            wall[k].append(seconds)
            cpu[k].append(cpu_seconds)
            faults[k].append(minor_faults(s.pid) - before)
        s.close()
    return connect, wall, cpu, faults


def main():
    section(f"3b. A new connection's first call: medians of {FRESH} fresh connections, "
            f"{BERT_FIXTURE} and {MARIAN_FIXTURE} preloaded")
    rows = []
    for name, sql, arg in CALLS:
        connect, wall, cpu, faults = fresh_connections(sql, arg)
        rows.append([name, f"{1000 * median(connect):.1f}"]
                    + [f"{1000 * median(w):.1f}" for w in wall]
                    + [f"{1000 * median([a - b for a, b in zip(*wall)]):.1f}"]
                    + [f"{1000 * median(c):.1f}" for c in cpu]
                    + [f"{median(f):.0f}" for f in faults])
    table(["call", "connect ms", "first ms", "second ms", "first - second ms",
           "first CPU ms", "second CPU ms", "first faults", "second faults"], rows)


if __name__ == "__main__":
    main()
