#!/usr/bin/python3
"""Figure 7: a soak under load and model churn.

    PGPORT=55600 /usr/bin/python3 bench/soak.py      (bench/run calls it)

Run as root after `make install`, holding nothing else on PGPORT: it starts
its own throwaway cluster (scripts/cluster, autovacuum off so that no
process comes and goes) with the shipped default models preloaded from the
installation (marian-en-de, bert-embed-en), and stops it at the end. The
installation must stay as it is while it runs (it loads models from it).

Setup: two more copies of the shipped models loaded with load_model(),
churn-en-de and churn-embed. Four kinds of call, each on a default model and
on its churned copy, over the first Multi30k validation sentences:
  embed        embed(text) of one sentence (bert-embed-en / churn-embed)
  embed_batch  embed(text[]) of 8 sentences
  translate    translate(text) with 4 beams (marian-en-de / churn-en-de)
  tokenize     tokenize(text) (marian-en-de / churn-en-de: SentencePiece;
               WordPiece runs inside every embed call)
Every call goes through soak_call(), a PL/pgSQL function that runs it,
compares the md5 of its result with the one computed before the soak, and
catches any error: a wrong result or an error becomes a NOTICE
(pgbench prints it on stderr) and the call's outcome, so that an error
neither ends a pgbench client nor goes uncounted.

The soak: pgbench -n, SOAK_CLIENTS clients (16) for SOAK_SECONDS (300; 30
with BENCH_QUICK), one script per kind and model, while
  - a churner session unloads and reloads the two copies in turn (a model
    stays away for 0.2 to 1.5 s plus its load_model, which registers it
    only at the end, then is back for 0.5 to 2 s), so that calls on them
    see 'model "churn-..." is not loaded' in between;
  - a long-lived session makes SOAK_CALLS calls (10,000; 1,000 quick), a
    fixed mix of all kinds on both models, and its memory is sampled every
    tenth of them: Pss_Anon (its heap; pages shared with the postmaster
    count in part) and Private_Clean + Private_Dirty (which also counts a
    churned model's shared pages while no other process maps them);
  - from a quarter of the way in, cancellation latency of each kind of call
    by statement_timeout (200 ms) and by pg_cancel_backend() (300 ms after
    the start), as bench/cancel.py measures it, on long statements of each
    kind and on adversarial single calls (one huge text).
Reported: transactions and latencies per script (pgbench --log), errors by
kind (only "not loaded" on a churned model is acceptable), wrong results,
aborted clients, backend crashes and postmaster restarts in the server log,
the server's PSS summed over all its processes before and after (the same
sessions, each having used every model just before, pgbench's backends
gone), the long-lived backend's memory, and the cancellation table.
"""
import glob
import os
import random
import re
import shutil
import subprocess
import tempfile
import threading
import time

from cancel import TIMEOUT, by_cancel, by_timeout
from common import QUICK, ROOT, median, multi30k, section, table
from pg import PgError, Session, server_pids, smaps_rollup, text_array

PGBIN = "/usr/lib/postgresql/15/bin"
SECONDS = int(os.environ.get("SOAK_SECONDS", "30" if QUICK else "300"))
CLIENTS = int(os.environ.get("SOAK_CLIENTS", "16"))
CALLS = int(os.environ.get("SOAK_CALLS", "1000" if QUICK else "10000"))
TRIALS = 3 if QUICK else 5
N_SENTENCES = 32  # distinct inputs per kind; embed_batch takes 8 from each
BATCH = 8

EMBEDDER, TRANSLATOR = "bert-embed-en", "marian-en-de"
CHURNED = {EMBEDDER: "churn-embed", TRANSLATOR: "churn-en-de"}

# kind -> (model family, SQL returning one text of model $1 and sentence $2)
KINDS = {
    "embed": (EMBEDDER, "SELECT md5(embed(s, $1)::text) FROM soak_sent WHERE id = $2"),
    "embed_batch": (EMBEDDER,
                    "SELECT md5(array_agg(e ORDER BY k)::text) FROM embed((SELECT array_agg(s ORDER BY id) "
                    f"FROM soak_sent WHERE id BETWEEN $2 AND $2 + {BATCH - 1}), $1) WITH ORDINALITY t(e, k)"),
    "translate": (TRANSLATOR, "SELECT md5(translate(s, $1, 4)) FROM soak_sent WHERE id = $2"),
    "tokenize": (TRANSLATOR,
                 "SELECT md5(string_agg(t.id || ' ' || t.token, ',' ORDER BY k)) "
                 "FROM soak_sent, tokenize(s, $1) WITH ORDINALITY t(id, token, k) WHERE soak_sent.id = $2"),
}
# pgbench weights per kind (the same for a default model and its copy)
WEIGHTS = {"embed": 4, "embed_batch": 2, "translate": 1, "tokenize": 4}
# the long-lived session's cycle of 100 calls: kind -> calls per cycle
LONG_LIVED_MIX = {"translate": 1, "embed_batch": 1, "embed": 30, "tokenize": 68}

SETUP_SQL = [
    "CREATE TABLE soak_sent (id int PRIMARY KEY, s text NOT NULL)",
    "CREATE TABLE soak_kind (kind text PRIMARY KEY, stmt text NOT NULL)",
    "CREATE TABLE soak_expected (kind text, id int, md5 text, PRIMARY KEY (kind, id))",
    # one call: 'ok', 'wrong' or the SQLSTATE of its error, with a NOTICE
    # for anything but 'ok'
    """CREATE FUNCTION soak_call(p_kind text, p_model text, p_id int) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_stmt text;
    v_want text;
    v_got text;
BEGIN
    SELECT k.stmt, e.md5 INTO v_stmt, v_want
        FROM soak_kind k JOIN soak_expected e USING (kind) WHERE k.kind = p_kind AND e.id = p_id;
    EXECUTE v_stmt INTO v_got USING p_model, p_id;
    IF v_got IS DISTINCT FROM v_want THEN
        RAISE NOTICE 'soak: % on % #%: wrong result', p_kind, p_model, p_id;
        RETURN 'wrong';
    END IF;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'soak: % on % #%: error % %', p_kind, p_model, p_id, SQLSTATE, SQLERRM;
    RETURN SQLSTATE;
END $$""",
]


class Cluster:
    """A throwaway cluster started by scripts/cluster on PGPORT; exports
    PGHOST etc. into os.environ."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="transformer-soak.")
        env = dict(os.environ, TRANSFORMER_CONF="autovacuum = off")
        out = subprocess.run(["bash", "-c", 'source scripts/cluster "$1" && env', "-", self.dir], cwd=ROOT,
                             env=env, capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"scripts/cluster failed: {out.stderr}")
        for line in out.stdout.splitlines():
            key, _, value = line.partition("=")
            if key in ("PGHOST", "PGPORT", "PGUSER", "PGDATABASE"):
                os.environ[key] = value
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "server.log")

    def postmaster(self):
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            return int(f.readline())

    def stop(self):
        subprocess.run(["runuser", "-u", "postgres", "--", f"{PGBIN}/pg_ctl", "-D", self.data, "-m", "fast",
                        "-w", "stop"], stdout=subprocess.DEVNULL)
        shutil.rmtree(self.dir, ignore_errors=True)


def setup(session, sentences):
    """Tables, soak_call(), the churned copies and the expected results
    (md5 per kind and sentence, from the default models)."""
    session.execute("CREATE EXTENSION transformer")
    for statement in SETUP_SQL:
        session.execute(statement)
    session.execute("INSERT INTO soak_sent SELECT i, s FROM unnest($1::text[]) WITH ORDINALITY AS t(s, i)",
                    [text_array(sentences)])
    for kind, (family, stmt) in KINDS.items():
        session.execute("INSERT INTO soak_kind VALUES ($1, $2)", [kind, stmt])
        for i in range(1, N_SENTENCES + 1):
            session.execute("INSERT INTO soak_expected VALUES ($1, $2, $3)",
                            [kind, i, session.value(stmt, [family, i])])
    for model, copy in CHURNED.items():
        session.execute("SELECT transformer.load_model($1, $2)", [copy, model])


def use_every_model(session):
    """One call of every kind on every model, so that each session maps the
    same pages when PSS is measured; returns the outcomes."""
    return [session.value("SELECT soak_call($1, $2, 1)", [kind, model])
            for kind, (family, _) in KINDS.items() for model in (family, CHURNED[family])]


def server_pss(data_dir):
    """{pid: (process title, Pss kB)} of every server process."""
    out = {}
    for pid in server_pids(data_dir):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                title = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
            out[pid] = (title, smaps_rollup(pid)["Pss"])
        except OSError:
            pass  # exited
    return out


def backend_memory(pid):
    """(Pss_Anon, Private_Clean + Private_Dirty) of one backend, kB."""
    m = smaps_rollup(pid)
    return m["Pss_Anon"], m["Private_Clean"] + m["Private_Dirty"]


def pgbench_scripts(directory):
    """Write one pgbench script per kind and model; [(name, path, weight)]."""
    scripts = []
    for kind, (family, _) in KINDS.items():
        for model in (family, CHURNED[family]):
            name = f"{kind} on {model}"
            path = os.path.join(directory, f"{kind}.{model}.sql")
            last = N_SENTENCES - (BATCH - 1 if kind == "embed_batch" else 0)
            with open(path, "w") as f:
                f.write(f"\\set i random(1, {last})\nSELECT soak_call('{kind}', '{model}', :i);\n")
            scripts.append((name, path, WEIGHTS[kind]))
    return scripts


class Churner(threading.Thread):
    """Unloads and reloads the churned copies in turn until stopped; leaves
    both loaded."""

    def __init__(self):
        super().__init__()
        self.stop = threading.Event()
        self.cycles = 0
        self.errors = []
        self.load_seconds = []

    def run(self):
        session = Session()
        session.execute("SET client_min_messages = warning")
        rng = random.Random(8)
        try:
            while not self.stop.is_set():
                for model, copy in CHURNED.items():
                    session.execute("SELECT transformer.unload_model($1)", [copy])
                    time.sleep(rng.uniform(0.2, 1.5))
                    t0 = time.perf_counter()
                    session.execute("SELECT transformer.load_model($1, $2)", [copy, model])
                    self.load_seconds.append(time.perf_counter() - t0)
                    time.sleep(rng.uniform(0.5, 2.0))
                self.cycles += 1
        except PgError as e:
            self.errors.append(f"{e.sqlstate} {e}")
        finally:
            session.close()


class LongLived(threading.Thread):
    """One session making CALLS calls of the fixed mix, its memory sampled
    every tenth of them."""

    def __init__(self, session, load_done):
        super().__init__()
        self.session = session
        self.load_done = load_done
        self.samples = []  # (calls so far, seconds since the start, Pss_Anon kB, private kB)
        self.outcomes = {}
        self.under_load = None

    def run(self):
        cycle = [kind for kind, n in LONG_LIVED_MIX.items() for _ in range(n)]
        t0 = time.perf_counter()
        self.samples.append((0, 0.0) + backend_memory(self.session.pid))
        for call in range(CALLS):
            kind = cycle[call % len(cycle)]
            family = KINDS[kind][0]
            model = CHURNED[family] if (call // len(cycle)) % 2 else family
            last = N_SENTENCES - (BATCH - 1 if kind == "embed_batch" else 0)
            try:
                got = self.session.value("SELECT soak_call($1, $2, $3)", [kind, model, call % last + 1])
            except PgError as e:  # a lost connection: the end of this session
                self.outcomes[(kind, model, f"{e.sqlstate} {e}")] = 1
                break
            key = (kind, model, got)
            self.outcomes[key] = self.outcomes.get(key, 0) + 1
            if (call + 1) % max(1, CALLS // 10) == 0:
                self.samples.append((call + 1, time.perf_counter() - t0) + backend_memory(self.session.pid))
            if self.under_load is None and self.load_done.is_set():
                self.under_load = call + 1
        if self.under_load is None:
            self.under_load = CALLS


def cancel_statements():
    """(label, sql) of the long statements, each taking seconds alone."""
    return [
        ("embed(text) over 6,400 rows",
         f"SELECT count(embed(s, '{EMBEDDER}')) FROM soak_sent, generate_series(1, 200)"),
        ("embed(text[]) of 2,048 sentences",
         f"SELECT count(*) FROM embed((SELECT array_agg(s) FROM soak_sent, generate_series(1, 64)), "
         f"'{EMBEDDER}')"),
        ("translate(text[]) of 32, beam 4",
         f"SELECT translate((SELECT array_agg(s ORDER BY id) FROM soak_sent), '{TRANSLATOR}', 4)"),
        ("tokenize(text) over 64,000 rows",
         f"SELECT count(*) FROM soak_sent, generate_series(1, 2000), tokenize(s, '{TRANSLATOR}')"),
        ("tokenize(4 MB of words), marian",
         f"SELECT count(*) FROM soak_big, tokenize(words, '{TRANSLATOR}')"),
        ("tokenize(20 MB of spaces), bert",
         f"SELECT count(*) FROM soak_big, tokenize(spaces, '{EMBEDDER}')"),
        ("embed(one 8 MB word)", f"SELECT count(embed(word, '{EMBEDDER}')) FROM soak_big"),
        ("tokenize(one 8 MB word), marian",
         f"SELECT count(*) FROM soak_big, tokenize(word, '{TRANSLATOR}')"),
    ]


class Canceller(threading.Thread):
    """The cancellation table, measured from `start_after` seconds on."""

    def __init__(self, start_after):
        super().__init__()
        self.start_after = start_after
        self.rows = []

    def run(self):
        time.sleep(self.start_after)
        session, other = Session(), Session()
        # PostgreSQL's JIT would compile the longest statements before their
        # first row, uninterruptibly, for a few hundred ms under load
        session.execute("SET jit = off")
        for label, sql in cancel_statements():
            row = [label]
            for method in (lambda: by_timeout(session, sql, []), lambda: by_cancel(session, other, sql, [])):
                try:
                    ms = [1000 * method() for _ in range(TRIALS)]
                    row += [f"{median(ms):.1f}", f"{max(ms):.1f}"]
                except PgError as e:
                    row += [f"ERROR: {e}", ""]
            self.rows.append(row)
        session.close()
        other.close()


def parse_pgbench(stdout, log_prefix, scripts):
    """Rows of the per-script table from pgbench's report and --log files."""
    counts = {int(n): int(t) for n, t in re.findall(
        r"SQL script (\d+):.*?\n(?:.*\n)*? - (\d+) transactions", stdout)}
    latencies = {}
    for path in glob.glob(log_prefix + ".*"):
        with open(path) as f:
            for line in f:
                fields = line.split()
                if len(fields) >= 4 and fields[2].isdigit():
                    latencies.setdefault(int(fields[3]), []).append(int(fields[2]) / 1000)
    rows = []
    for n, (name, _, weight) in enumerate(scripts):
        lat = sorted(latencies.get(n, []))
        p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))] if lat else 0
        rows.append([name, weight, counts.get(n + 1, 0), f"{counts.get(n + 1, 0) / SECONDS:.2f}",
                     f"{median(lat) if lat else 0:.1f}", f"{p99:.1f}"])
    return rows


def errors_by_kind(stderr):
    """{(kind, model, what): count} from soak_call's NOTICEs, what being the
    SQLSTATE and message or 'wrong result'; and pgbench's other stderr
    lines that report a problem (aborted clients, lost connections)."""
    found, other = {}, []
    for line in stderr.splitlines():
        m = re.match(r"NOTICE:\s+soak: (\S+) on (\S+) #\d+: (.*)", line)
        if m:
            key = m.groups()
            found[key] = found.get(key, 0) + 1
        elif re.search(r"abort|error|lost|terminat", line, re.I):
            other.append(line)
    return found, other


def acceptable(model, what):
    return model in CHURNED.values() and what.startswith("error 42704") and "is not loaded" in what


def crashes(log):
    """(lines that report a backend killed by a signal, postmaster restarts)."""
    with open(log, errors="replace") as f:
        text = f.read()
    killed = re.findall(r".*(?:terminated by signal|was terminated by exception).*", text)
    return killed, text.count("all server processes terminated; reinitializing")


def main():
    section(f"7. Soak: {CLIENTS} pgbench clients for {SECONDS} s on the shipped models while "
            f"{', '.join(CHURNED.values())} are unloaded and reloaded")
    cluster = Cluster()
    work = tempfile.mkdtemp(prefix="soak-pgbench.")
    try:
        report(cluster, work)
    finally:
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)


def report(cluster, work):
    control = Session()
    control.execute("SET client_min_messages = warning")
    setup(control, multi30k("val.en", N_SENTENCES + BATCH))
    # the adversarial texts of the cancellation table
    control.execute("CREATE TABLE soak_big AS SELECT repeat('a man rides a bike ', 220000) AS words, "
                    "repeat(' ', 20000000) AS spaces, repeat('x', 8000000) AS word")
    control.execute("ANALYZE")
    control.execute("CHECKPOINT")
    long_lived = Session()
    long_lived.execute("SET client_min_messages = warning")
    postmaster = cluster.postmaster()
    persistent = [control, long_lived]
    for s in persistent:
        use_every_model(s)
    pss_before = server_pss(cluster.data)

    scripts = pgbench_scripts(work)
    log_prefix = os.path.join(work, "log")
    command = [f"{PGBIN}/pgbench", "-n", "-c", str(CLIENTS), "-j", "2", "-T", str(SECONDS), "-r",
               "--log", f"--log-prefix={log_prefix}", "-P", str(max(10, SECONDS // 5))]
    for _, path, weight in scripts:
        command += ["-f", f"{path}@{weight}"]
    print(f"  pgbench {' '.join(command[1:command.index('-f')])} -f <8 scripts> (log in {cluster.dir})")
    load_done = threading.Event()
    churner, canceller = Churner(), Canceller(SECONDS / 4)
    long_thread = LongLived(long_lived, load_done)
    t0 = time.perf_counter()
    bench = subprocess.Popen(command, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=dict(os.environ, PGOPTIONS="-c client_min_messages=notice"))
    for thread in (churner, long_thread, canceller):
        thread.start()
    stdout, stderr = bench.communicate()
    load_done.set()
    wall = time.perf_counter() - t0
    churner.stop.set()
    for thread in (churner, canceller, long_thread):
        thread.join()

    # every process started since (pgbench's backends, the canceller's)
    # gone, not only out of pg_stat_activity: an exiting backend still maps
    # its memory. Both copies are loaded again: the same sessions use every
    # model once more, then PSS
    deadline = time.time() + 60
    while set(server_pids(cluster.data)) - set(pss_before) and time.time() < deadline:
        time.sleep(0.2)
    outcomes_after = [o for s in persistent for o in use_every_model(s)]
    pss_after = server_pss(cluster.data)
    same_postmaster = cluster.postmaster() == postmaster
    for s in persistent:
        s.close()

    print(f"  pgbench exit status {bench.returncode}, {wall:.0f} s; its progress lines:")
    for line in stderr.splitlines():
        if line.startswith("progress:"):
            print("    " + line)
    print("  transactions per script (each one soak_call(); latencies from pgbench --log, ms):")
    table(["script", "weight", "transactions", "per s", "median", "p99"], parse_pgbench(stdout, log_prefix, scripts))
    m = re.search(r"number of transactions actually processed: (\d+)", stdout)
    print(f"  total: {m.group(1) if m else '?'} transactions; "
          f"{re.search(r'tps = [0-9.]+', stdout).group(0) if 'tps =' in stdout else ''}")

    found, other = errors_by_kind(stderr)
    long_errors = {(k, mdl, "SQLSTATE " + got): n for (k, mdl, got), n in long_thread.outcomes.items() if got != "ok"}
    print(f"  churner: {churner.cycles} cycles (each model unloaded and reloaded once per cycle), "
          f"load_model median {median(churner.load_seconds) if churner.load_seconds else 0:.2f} s"
          + (f"; its errors: {churner.errors}" if churner.errors else ""))
    print("  errors and wrong results by kind (pgbench clients):")
    bad = 0
    rows = []
    for (kind, model, what), n in sorted(found.items()):
        ok = acceptable(model, what)
        bad += 0 if ok else n
        rows.append([kind, model, what[:90], n, "expected" if ok else "NOT ACCEPTABLE"])
    table(["kind", "model", "error", "count", ""], rows or [["(none)", "", "", "", ""]])
    for line in other[:20]:
        print(f"  pgbench: {line}")
    bad += len(other)
    print(f"  long-lived session outcomes other than ok: "
          f"{', '.join(f'{k} on {mdl}: {what} x{n}' for (k, mdl, what), n in sorted(long_errors.items())) or 'none'}")
    bad += sum(n for (k, mdl, what), n in long_errors.items() if not (mdl in CHURNED.values() and "42704" in what))
    bad += sum(1 for o in outcomes_after if o != "ok")
    killed, restarts = crashes(cluster.log)
    print(f"  backend crashes in the server log: {len(killed)}; postmaster restarts: {restarts}; "
          f"same postmaster: {'yes' if same_postmaster else 'NO'}")
    for line in killed[:10]:
        print("    " + line)
    print(f"  unacceptable errors, wrong results, aborted clients: {bad}")

    before, after = (sum(kb for _, kb in pss.values()) for pss in (pss_before, pss_after))
    print(f"  server PSS (all processes, same 2 sessions, each having used every model): before "
          f"{before / 1024:.1f} MiB, after {after / 1024:.1f} MiB, growth {100 * (after - before) / before:+.2f}%")
    changes = sorted(((kb - pss_before.get(pid, ("", 0))[1], title) for pid, (title, kb) in pss_after.items()),
                     reverse=True)
    print("  by process, kB: " + ", ".join(f"{title} {delta:+d}" for delta, title in changes if delta)
          + "".join(f", {title} gone" for pid, (title, _) in pss_before.items() if pid not in pss_after))
    print(f"  long-lived backend, {CALLS} calls ({long_thread.under_load} of them while pgbench ran), "
          f"memory in kB:")
    table(["calls", "at s", "Pss_Anon", "Private_Clean+Dirty"],
          [[c, f"{t:.0f}", a, p] for c, t, a, p in long_thread.samples])
    anon = [a for _, _, a, _ in long_thread.samples[1:]] or [0]
    print(f"  Pss_Anon from the first sample after {long_thread.samples[1][0] if len(long_thread.samples) > 1 else 0} "
          f"calls to the last: {anon[-1] - anon[0]:+d} kB")
    print(f"  cancellation under the load, ms from the deadline (statement_timeout {int(TIMEOUT * 1000)} ms) or "
          f"from pg_cancel_backend() to the error, median and max of {TRIALS}:")
    table(["statement", "timeout median", "max", "cancel median", "max"], canceller.rows)


if __name__ == "__main__":
    main()
