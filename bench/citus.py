#!/usr/bin/python3
"""Figure 10: filling a column of 20,000 rows on one node against a Citus
coordinator with two workers, all three on this machine.

    /usr/bin/python3 bench/citus.py   (bench/run calls it)

Needs the Citus cluster of scripts/citus-cluster (bench/run starts it):
CITUS_DIR (its socket directory) and CITUS_PORT (the coordinator's port;
the workers listen on the next two), bert-minilm preloaded on every node.

Statement timed, the supported path on a distributed table:
    UPDATE t SET emb = embed_pinned(s, 'bert-minilm@<hash>')
- 1 node: t a plain table on the coordinator: one backend does every row;
- coordinator + 2 workers: t distributed by id (Citus' default 32 shards):
  the coordinator sends the statement to every shard, and the workers'
  backends (up to one per shard) compute in parallel.
Rows: STS dev sentences, both columns row by row, cycled to 20,000 rows
(BENCH_QUICK: 2,000). Each repeat sets the column back to NULL first
(untimed), then times the 1-node and the cluster UPDATE back to back, so
both see the same load; figures are medians of the repeats (BENCH_REPEATS).
Then the same fill by a table job (transformer.create_job, then wait_job
until every row is done, timed together; the job and its column dropped
after each repeat): on 1 node a job on the plain table, run by that node's
transformer.max_job_workers (2) background workers; on the cluster a job
on the distributed table, which is a job per shard run by each worker's
own 2 background workers (4 in all, the coordinator computes nothing).
CPU-seconds add every server process of the three nodes (from /proc, the
backends that exited during the statement included): the work, wherever it
ran. On a machine shared with other jobs, 1 node's single backend gets only
a part of a core, while the cluster's many backends get a larger share of
both cores: the wall-clock ratio then exceeds the number of cores, the
CPU-second view does not.
"""
import os
import time

from common import BERT_FIXTURE, QUICK, REPEATS, median, section, sts_sentences, table
from pg import Session, cpu_seconds, server_pids, text_array

ROWS = 2000 if QUICK else 20000
DIR = os.environ["CITUS_DIR"]
PORT = int(os.environ["CITUS_PORT"])
NODES = ("coordinator", "worker1", "worker2")


def reaped_cpu_seconds(postmaster):
    """CPU seconds of the postmaster's children that have exited (its
    cutime + cstime, clock-tick resolution): Citus closes the connections
    beyond citus.max_cached_conns_per_worker after each statement, and
    their backends' CPU time would otherwise be lost."""
    with open(f"/proc/{postmaster}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


def cluster_cpu():
    """CPU seconds used so far by every process of the three nodes, the
    exited ones included."""
    total = 0.0
    for node in NODES:
        pids = server_pids(os.path.join(DIR, node))
        total += sum(cpu_seconds(pid) for pid in pids) + reaped_cpu_seconds(pids[0])
    return total


def timed_fill(session, table_name, ref):
    """(wall seconds, CPU seconds of all nodes) of one fill of table_name."""
    session.execute(f"UPDATE {table_name} SET emb = NULL")
    session.execute(f"VACUUM {table_name}")
    cpu0 = cluster_cpu()
    wall, _, _ = session.timed(f"UPDATE {table_name} SET emb = embed_pinned(s, $1)", [ref])
    return wall, cluster_cpu() - cpu0


def timed_job(session, table_name):
    """(wall seconds, CPU seconds of all nodes) of filling table_name by a
    table job, from create_job until wait_job sees every row done."""
    cpu0 = cluster_cpu()
    start = time.perf_counter()
    session.execute("SELECT transformer.create_job('bench_job', $1, 's', target => 'job_emb', model => $2)",
                    [table_name, BERT_FIXTURE])
    if session.value("SELECT transformer.wait_job('bench_job', '2 hours')") != "t":
        raise RuntimeError(f"the job on {table_name} did not finish")
    wall = time.perf_counter() - start
    cpu = cluster_cpu() - cpu0
    done = session.value("SELECT rows_done FROM transformer.jobs WHERE name = 'bench_job'")
    if int(done) != ROWS:
        raise RuntimeError(f"the job on {table_name} did {done} of {ROWS} rows")
    session.execute("SELECT transformer.drop_job('bench_job')")
    session.execute(f"ALTER TABLE {table_name} DROP COLUMN job_emb")
    return wall, cpu


def print_runs(runs, labels, unit):
    """The table of one path: rows/s, wall s and rows per CPU-second per
    setup (medians of the repeats), then the wall-clock ratio."""
    rows = []
    for key, label in labels:
        walls = [w for w, _ in runs[key]]
        cpus = [c for _, c in runs[key]]
        rows.append([label, f"{ROWS / median(walls):.0f}", f"{median(walls):.1f}",
                     f"{ROWS / median(cpus):.0f}"])
    table([unit, "rows/s", "wall s", "rows per CPU-s"], rows)
    ratio = median([s[0] / d[0] for s, d in zip(runs["single"], runs["dist"])])
    print(f"  cluster / 1 node, wall clock: {ratio:.2f}x (median of {REPEATS} per-repeat ratios)")


def main():
    section(f"10. Filling a column of {ROWS:,} rows: 1 node vs Citus coordinator + 2 workers "
            f"(bench/citus.py, embed_pinned UPDATE and table job, {BERT_FIXTURE})")
    session = Session(f"host={DIR} port={PORT} dbname=postgres user=postgres")
    ref = session.value("SELECT transformer.check_model_on_all_nodes($1)", [BERT_FIXTURE])
    sentences = sts_sentences(1000)
    for name in ("bench_single", "bench_dist"):
        session.execute(f"DROP TABLE IF EXISTS {name}")
        session.execute(f"CREATE TABLE {name} (id int PRIMARY KEY, s text NOT NULL, emb real[])")
    session.execute("SELECT create_distributed_table('bench_dist', 'id')")
    for name in ("bench_single", "bench_dist"):
        session.execute(f"INSERT INTO {name} (id, s) SELECT i, ($1::text[])[1 + (i - 1) % $2] "
                        f"FROM generate_series(1, $3) i", [text_array(sentences), len(sentences), ROWS])
    shards = session.value("SELECT count(*) FROM citus_shards WHERE table_name = 'bench_dist'::regclass")
    labels = (("single", "1 node (plain table)"), ("dist", f"coordinator + 2 workers ({shards} shards)"))
    runs = {"single": [], "dist": []}
    for _ in range(REPEATS):
        runs["single"].append(timed_fill(session, "bench_single", ref))
        runs["dist"].append(timed_fill(session, "bench_dist", ref))
    equal = session.value("SELECT count(*) FROM bench_single a JOIN bench_dist b USING (id) "
                          "WHERE a.emb = b.emb")
    print_runs(runs, labels, "UPDATE ... embed_pinned()")
    print(f"  {equal} of {ROWS} rows equal between the two tables")
    jobs = {"single": [], "dist": []}
    for _ in range(REPEATS):
        jobs["single"].append(timed_job(session, "bench_single"))
        jobs["dist"].append(timed_job(session, "bench_dist"))
    print_runs(jobs, labels, "table job (create_job .. wait_job)")
    for name in ("bench_single", "bench_dist"):
        session.execute(f"DROP TABLE {name}")
    session.close()


if __name__ == "__main__":
    main()
