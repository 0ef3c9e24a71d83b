"""A minimal PostgreSQL client for the benchmarks: libpq through ctypes
(no packages beyond the Python standard library and Debian's libpq5).

Connections take their parameters from the environment (PGHOST, PGPORT,
PGUSER, PGDATABASE, as scripts/cluster exports them).  ctypes releases the
GIL during a libpq call, so several sessions can run statements at the same
time from threads (the cancellation benchmark does).

Also here: the CPU time and memory of a server process, read from /proc.
"""
import ctypes
import glob
import os
import time

_libpq = ctypes.CDLL("libpq.so.5")
_libpq.PQconnectdb.restype = ctypes.c_void_p
_libpq.PQconnectdb.argtypes = [ctypes.c_char_p]
_libpq.PQstatus.argtypes = [ctypes.c_void_p]
_libpq.PQerrorMessage.restype = ctypes.c_char_p
_libpq.PQerrorMessage.argtypes = [ctypes.c_void_p]
_libpq.PQbackendPID.argtypes = [ctypes.c_void_p]
_libpq.PQfinish.argtypes = [ctypes.c_void_p]
_libpq.PQexecParams.restype = ctypes.c_void_p
_libpq.PQexecParams.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_void_p,
                                ctypes.POINTER(ctypes.c_char_p), ctypes.c_void_p, ctypes.c_void_p,
                                ctypes.c_int]
_libpq.PQresultStatus.argtypes = [ctypes.c_void_p]
_libpq.PQresultErrorField.restype = ctypes.c_char_p
_libpq.PQresultErrorField.argtypes = [ctypes.c_void_p, ctypes.c_int]
_libpq.PQresultErrorMessage.restype = ctypes.c_char_p
_libpq.PQresultErrorMessage.argtypes = [ctypes.c_void_p]
_libpq.PQntuples.argtypes = [ctypes.c_void_p]
_libpq.PQnfields.argtypes = [ctypes.c_void_p]
_libpq.PQgetisnull.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
_libpq.PQgetvalue.restype = ctypes.c_char_p
_libpq.PQgetvalue.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
_libpq.PQclear.argtypes = [ctypes.c_void_p]

CONNECTION_OK = 0
PGRES_COMMAND_OK = 1
PGRES_TUPLES_OK = 2
PG_DIAG_SQLSTATE = ord("C")
PG_DIAG_MESSAGE_PRIMARY = ord("M")


class PgError(Exception):
    """A statement's error: sqlstate (e.g. 57014 for a cancel or timeout)
    and the server's primary message."""

    def __init__(self, sqlstate, message):
        super().__init__(message)
        self.sqlstate = sqlstate


class Session:
    """One connection (one server backend)."""

    def __init__(self, conninfo=""):
        self.conn = _libpq.PQconnectdb(conninfo.encode())
        if _libpq.PQstatus(self.conn) != CONNECTION_OK:
            message = _libpq.PQerrorMessage(self.conn).decode(errors="replace")
            _libpq.PQfinish(self.conn)
            raise PgError("08000", message.strip())
        self.pid = _libpq.PQbackendPID(self.conn)

    def execute(self, sql, params=()):
        """Run one statement with text parameters $1.. (str or None) ->
        list of rows, each a tuple of str (None for NULL). Raises PgError."""
        values = (ctypes.c_char_p * max(1, len(params)))(
            *[None if p is None else str(p).encode() for p in params])
        res = _libpq.PQexecParams(self.conn, sql.encode(), len(params), None, values, None, None, 0)
        try:
            if res is None:
                raise PgError("08000", _libpq.PQerrorMessage(self.conn).decode(errors="replace").strip())
            status = _libpq.PQresultStatus(res)
            if status not in (PGRES_COMMAND_OK, PGRES_TUPLES_OK):
                code = _libpq.PQresultErrorField(res, PG_DIAG_SQLSTATE)
                message = _libpq.PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) or \
                    _libpq.PQresultErrorMessage(res)
                raise PgError(code.decode() if code else "?????", message.decode(errors="replace").strip())
            n, m = _libpq.PQntuples(res), _libpq.PQnfields(res)
            return [tuple(None if _libpq.PQgetisnull(res, i, j) else _libpq.PQgetvalue(res, i, j).decode()
                          for j in range(m)) for i in range(n)]
        finally:
            if res is not None:
                _libpq.PQclear(res)

    def value(self, sql, params=()):
        """The first column of the first row."""
        return self.execute(sql, params)[0][0]

    def timed(self, sql, params=()):
        """(wall seconds, backend CPU seconds, rows) of one statement; wall
        is measured here around the round trip, CPU time from /proc."""
        cpu0 = cpu_seconds(self.pid)
        t0 = time.perf_counter()
        rows = self.execute(sql, params)
        wall = time.perf_counter() - t0
        return wall, cpu_seconds(self.pid) - cpu0, rows

    def close(self):
        if self.conn:
            _libpq.PQfinish(self.conn)
            self.conn = None


def text_array(items):
    """A Python list of str -> a PostgreSQL text[] literal."""
    quoted = ('"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"' for s in items)
    return "{" + ",".join(quoted) + "}"


def cpu_seconds(pid):
    """CPU time of process `pid` so far, all its threads (OpenBLAS workers
    included), in seconds with nanosecond resolution (schedstat)."""
    total = 0
    for path in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            with open(path) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # a thread that just exited
    return total / 1e9


def smaps_rollup(pid):
    """{field: kB} from /proc/PID/smaps_rollup (Rss, Pss, Pss_Anon,
    Pss_Shmem, ...)."""
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                out[parts[0].rstrip(":")] = int(parts[1])
    return out


def server_pids(data_dir):
    """The postmaster of the cluster in data_dir and all its children."""
    with open(os.path.join(data_dir, "postmaster.pid")) as f:
        postmaster = int(f.readline())
    pids = [postmaster]
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == postmaster:
            pids.append(int(stat.split("/")[2]))
    return pids
