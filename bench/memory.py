#!/usr/bin/python3
"""Figure 3: what more connections cost when they all use a preloaded
model (a new connection's first call: bench/first_call.py).

    BENCH_DATA_DIR=... /usr/bin/python3 bench/memory.py   (bench/run calls it)

Needs a running cluster (PG* environment, run as root to read the server's
/proc files) with the bert-minilm fixture preloaded.

Memory: PSS (proportional set size: each resident page divided by the
number of processes mapping it) from /proc/PID/smaps_rollup, summed over
every process of the server (postmaster, background processes, client
backends), so that pages shared by N processes count once in total.
Measured with 1 connection that has called embed(), then with 20
connections that have only run SELECT 1, then after each of them has
called embed(). The extra PSS of the 19 more connections is reported
beside the model's image size (transformer.models.bytes): 19 private
copies would add 19 x 100% of it.

Private memory: what one backend keeps for itself (Private_Dirty) after
embed() of one sentence, then after embed(text[]) of 32 sentences, beyond
what it had after SELECT 1.
"""
import os

from common import BERT_FIXTURE, median, section, sts_sentences, table
from pg import Session, server_pids, smaps_rollup, text_array

CONNECTIONS = 20
FIELDS = ("Pss", "Pss_Anon", "Pss_Shmem", "Rss")
SENTENCE = "A man with a hard hat is dancing."
EMBED = f"SELECT array_length(embed($1, '{BERT_FIXTURE}'), 1)"
EMBED_BATCH = f"SELECT count(*) FROM embed($1::text[], '{BERT_FIXTURE}')"


def pss(pids):
    """{field: MiB} summed over the processes (FIELDS)."""
    total = dict.fromkeys(FIELDS, 0)
    for pid in pids:
        try:
            got = smaps_rollup(pid)
        except OSError:
            continue  # a process that just exited
        for f in FIELDS:
            total[f] += got.get(f, 0)
    return {f: v / 1024 for f, v in total.items()}


def main():
    data_dir = os.environ["BENCH_DATA_DIR"]
    section(f"3. Shared memory: {CONNECTIONS} connections using the preloaded {BERT_FIXTURE} fixture")
    first = Session()
    image = int(first.value("SELECT bytes FROM transformer.models WHERE name = $1", [BERT_FIXTURE])) / 2**20
    first.execute(EMBED, [SENTENCE])
    states = [("1 connection, after embed()", pss(server_pids(data_dir)), pss([first.pid]))]
    others = [Session() for _ in range(CONNECTIONS - 1)]
    for s in others:
        s.execute("SELECT 1")
    sessions = [first] + others
    states.append((f"{CONNECTIONS} connections, 19 without embed()", pss(server_pids(data_dir)),
                   pss([s.pid for s in sessions])))
    for s in others:
        s.execute(EMBED, [SENTENCE])
    states.append((f"{CONNECTIONS} connections, all after embed()", pss(server_pids(data_dir)),
                   pss([s.pid for s in sessions])))
    per_backend = [smaps_rollup(s.pid) for s in sessions]
    for s in sessions:
        s.close()

    print(f"  model image (transformer.models.bytes): {image:.1f} MiB; PSS in MiB")
    table(["state", "server Pss", "Pss_Anon", "Pss_Shmem", "client backends Pss"],
          [[name] + [f"{srv[f]:.1f}" for f in ("Pss", "Pss_Anon", "Pss_Shmem")] + [f"{cli['Pss']:.1f}"]
           for name, srv, cli in states])
    one, plain, used = (srv["Pss"] for _, srv, _ in states)
    clients = [cli["Pss"] for _, _, cli in states]
    print(f"  19 more connections that used the model: +{used - one:.1f} MiB server PSS "
          f"= {100 * (used - one) / image:.1f}% of the image (19 private copies: {19 * 100}%)")
    print(f"  (summed over the client backends only: +{clients[2] - clients[0]:.1f} MiB = "
          f"{100 * (clients[2] - clients[0]) / image:.1f}%, which includes the share of the shared pages "
          f"that moves from the postmaster to them)")
    print(f"  of which their embed() calls: +{used - plain:.1f} MiB = {100 * (used - plain) / image:.1f}% of "
          f"the image, {(used - plain) / 19:.2f} MiB per connection")
    rss, own = (median([b[f] for b in per_backend]) / 1024 for f in ("Rss", "Pss"))
    print(f"  one backend after embed(), median: Rss {rss:.1f} MiB (what ps and top show: shared pages "
          f"counted whole), Pss {own:.1f} MiB")

    fresh = Session()
    fresh.execute("SELECT 1")
    private = [smaps_rollup(fresh.pid)["Private_Dirty"]]
    fresh.execute(EMBED, [SENTENCE])
    private.append(smaps_rollup(fresh.pid)["Private_Dirty"])
    fresh.execute(EMBED_BATCH, [text_array(sts_sentences(32))])
    private.append(smaps_rollup(fresh.pid)["Private_Dirty"])
    fresh.close()
    print(f"  one backend's private memory beyond SELECT 1: after embed() of one sentence "
          f"+{private[1] - private[0]} kB, after embed(text[]) of 32 more "
          f"+{private[2] - private[0]} kB")


if __name__ == "__main__":
    main()
