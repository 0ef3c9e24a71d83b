#!/usr/bin/python3
"""Figure 4: how promptly a long call stops on statement_timeout and on
pg_cancel_backend().

    /usr/bin/python3 bench/cancel.py       (bench/run calls it)

Needs a running cluster (PG* environment) with the bert-minilm and
marian-ende-size fixtures preloaded. Statements, each running for seconds
when left alone:
  embed(text[]) of 2,048 STS sentences (one call, batched),
  embed(text) over 2,048 rows (one call per row: the executor's own
    interrupt checks between rows, for comparison),
  translate(text[]) of 32 Multi30k sentences with beam 4.
statement_timeout = 200ms: the latency is the time from the deadline (200 ms
after the statement was sent) to the error reaching the client.
pg_cancel_backend(): another session cancels the statement 300 ms after it
was sent; the latency is from sending the cancel to the error reaching the
first client. Both are measured on the client, so they include a round trip
and the query's start (well under a millisecond on a Unix socket). Medians
and maxima of 7 trials (3 with BENCH_QUICK) at each transformer.threads.
"""
import threading
import time

from common import (BERT_FIXTURE, MARIAN_FIXTURE, QUICK, THREADS, load_table, median, multi30k, section,
                    sts_sentences, table)
from pg import PgError, Session, text_array

TRIALS = 3 if QUICK else 7
TIMEOUT = 0.2  # seconds, statement_timeout
CANCEL_AFTER = 0.3  # seconds after the statement was sent
QUERY_CANCELED = "57014"


def statements():
    """(label, sql, params) of the long statements."""
    texts = multi30k("val.en", 32)
    return [
        ("embed(text[]) of 2048 sentences",
         "SELECT count(*) FROM embed((SELECT array_agg(s) FROM bench_sent, generate_series(1, 4)), "
         f"'{BERT_FIXTURE}')",
         []),
        ("embed(text) over 2048 rows",
         f"SELECT count(embed(s, '{BERT_FIXTURE}')) FROM bench_sent, generate_series(1, 4)", []),
        ("translate(text[]) of 32, beam 4",
         f"SELECT translate($1::text[], '{MARIAN_FIXTURE}', 4)", [text_array(texts)]),
    ]


def by_timeout(session, sql, params):
    """Seconds from the statement_timeout deadline to the error."""
    session.execute(f"SET statement_timeout = '{int(TIMEOUT * 1000)}ms'")
    t0 = time.perf_counter()
    try:
        session.execute(sql, params)
        raise PgError("00000", "finished before the deadline")
    except PgError as e:
        if e.sqlstate != QUERY_CANCELED:
            raise
        return time.perf_counter() - t0 - TIMEOUT
    finally:
        session.execute("RESET statement_timeout")


def by_cancel(session, other, sql, params):
    """Seconds from another session's pg_cancel_backend() to the error."""
    outcome = {}

    def run():
        try:
            session.execute(sql, params)
            outcome["error"] = PgError("00000", "finished before the cancel")
        except PgError as e:
            outcome["at"] = time.perf_counter()
            if e.sqlstate != QUERY_CANCELED:
                outcome["error"] = e

    worker = threading.Thread(target=run)
    worker.start()
    time.sleep(CANCEL_AFTER)
    sent = time.perf_counter()
    other.execute("SELECT pg_cancel_backend($1)", [session.pid])
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["at"] - sent


def main():
    section(f"4. Cancellation: statement_timeout = {int(TIMEOUT * 1000)}ms and pg_cancel_backend(), "
            f"{TRIALS} trials each")
    session, other = Session(), Session()
    load_table(session, "bench_sent", sts_sentences(512))
    session.execute(f"SELECT embed('warm-up', '{BERT_FIXTURE}')")
    rows = []
    for threads in THREADS:
        session.execute(f"SET transformer.threads = {threads}")
        for label, sql, params in statements():
            row = [threads, label]
            for method in (lambda: by_timeout(session, sql, params),
                           lambda: by_cancel(session, other, sql, params)):
                try:
                    ms = [1000 * method() for _ in range(TRIALS)]
                    row += [f"{median(ms):.1f}", f"{max(ms):.1f}"]
                except PgError as e:
                    row += [f"ERROR: {e}", ""]
            rows.append(row)
    session.close()
    other.close()
    print("  milliseconds from the deadline (timeout) or from the cancel request to the error")
    table(["threads", "statement", "timeout median", "max", "cancel median", "max"], rows)


if __name__ == "__main__":
    main()
