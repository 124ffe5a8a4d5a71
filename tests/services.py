"""Real PostgreSQL and Redis servers for the tests, started once per session.

A pytest plugin (``pytest_plugins = ["tests.services"]``, or ``-p tests.services``) with two
session fixtures:

- ``redis_url``: ``redis://127.0.0.1:<port>/0`` of a ``redis-server`` with no persistence;
- ``postgres_url``: ``postgresql+psycopg://postgres@127.0.0.1:<port>/affectline_test`` of a
  throw-away cluster (``initdb``, trust authentication on loopback, fsync off).

Both servers come from the Debian packages ``redis-server`` and ``postgresql`` (the Makefile's
``system-deps`` installs them). Each listens on a free loopback port, keeps its files and its
log in a temporary folder, and is stopped when the session ends. When a server's programs are
missing the fixture skips, unless ``CI`` is set: then it fails, so that CI never skips the
service tests silently.

PostgreSQL refuses to run as root. As root, ``initdb`` and ``postgres`` run as the ``postgres``
system user (made by the Debian package) through ``setpriv``, in a folder that user owns.
Servers are started with ``setpriv --pdeathsig`` where it exists, so that they die with the
test process even when it is killed before its finalizers run.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import NoReturn

import pytest

READY_TIMEOUT = 30.0
INITDB_TIMEOUT = 120.0
STOP_TIMEOUT = 10.0
PORT_ATTEMPTS = 3
# PostgreSQL's "fast" shutdown (SIGINT: roll back clients, stop), then "immediate" (SIGQUIT:
# the postmaster takes its backends down with it, unlike SIGKILL, which orphans them).
POSTGRES_STOP = (signal.SIGINT, signal.SIGQUIT)
REDIS_STOP = (signal.SIGTERM,)
PG_DATABASE = "affectline_test"
PG_SUPERUSER = "postgres"
PG_SYSTEM_USER = "postgres"
PG_DEBIAN_ROOT = Path("/usr/lib/postgresql")
_PORT_TAKEN = re.compile(r"address already in use|could not bind|could not create listen", re.I)


class _PortTaken(Exception):
    """The server could not bind its port (another process took it after we picked it)."""


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _unavailable(reason: str) -> NoReturn:
    """Skip the test, or fail it in CI, where a missing server must not go unnoticed."""
    if _in_ci():
        pytest.fail(f"{reason} (CI is set, so this fails instead of skipping)", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _log_tail(log: Path, lines: int = 30) -> str:
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


def _as_user(user: str | None, pdeathsig: str | None) -> list[str]:
    """The command prefix that runs a program as ``user`` (None: as ourselves).

    ``setpriv`` executes the program in place (no extra process between us and the server, so
    signals reach it directly) and can ask the kernel to signal it when we die.
    """
    setpriv = shutil.which("setpriv")
    prefix: list[str] = []
    if setpriv:
        prefix = [setpriv]
        if user is not None:
            prefix += [f"--reuid={user}", f"--regid={user}", "--init-groups"]
        if pdeathsig is not None:
            prefix += ["--pdeathsig", pdeathsig]
        return [*prefix, "--"] if len(prefix) > 1 else []
    if user is not None:
        runuser = shutil.which("runuser")
        if runuser is None:
            _unavailable(f"running a server as {user!r} needs setpriv or runuser (util-linux)")
        return [str(runuser), "-u", user, "--"]
    return prefix


def _stop(proc: subprocess.Popen[bytes], signals: Sequence[int]) -> None:
    """Send each signal in turn until the process ends; SIGKILL last, so none is left behind."""
    for sig in (*signals, signal.SIGKILL):
        if proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=STOP_TIMEOUT)


def _start(
    name: str,
    command: list[str],
    log: Path,
    ready: Callable[[], bool],
    *,
    cwd: Path,
    stop_signals: Sequence[int],
) -> subprocess.Popen[bytes]:
    """Start a server and wait until ``ready()`` holds; on any failure, stop it and raise."""
    with log.open("ab") as out:
        offset = out.tell()
        proc = subprocess.Popen(
            command,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            # A Ctrl-C in the terminal reaches pytest only; the finalizer stops the server.
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            code = proc.poll()
            if code is not None:
                tail = _log_tail(log)
                with log.open("rb") as f:
                    f.seek(offset)
                    if _PORT_TAKEN.search(f.read().decode(errors="replace")):
                        raise _PortTaken(tail)
                raise RuntimeError(
                    f"{name} exited with code {code} while starting, log {log}:\n{tail}"
                )
            if ready():
                return proc
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{name} did not answer in {READY_TIMEOUT:.0f} s, log {log}:\n{_log_tail(log)}"
                )
            time.sleep(0.05)
    except BaseException:
        _stop(proc, stop_signals)
        raise


def _start_on_free_port(
    name: str, start: Callable[[int], subprocess.Popen[bytes]]
) -> tuple[subprocess.Popen[bytes], int]:
    """Pick a free port and start; another process may grab it in between, so retry."""
    taken: _PortTaken | None = None
    for _ in range(PORT_ATTEMPTS):
        port = _free_port()
        try:
            return start(port), port
        except _PortTaken as e:
            taken = e
    raise RuntimeError(f"{name} found no free port in {PORT_ATTEMPTS} tries:\n{taken}") from taken


# --- Redis -------------------------------------------------------------------------------------


def _redis_pings(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``redis-server`` on loopback for the whole session, without persistence."""
    exe = shutil.which("redis-server")
    if exe is None:
        _unavailable("redis-server is not installed (apt-get install redis-server)")
    base = tmp_path_factory.mktemp("redis")
    log = base / "redis.log"

    def start(port: int) -> subprocess.Popen[bytes]:
        options = {
            "port": str(port),
            "bind": "127.0.0.1",
            "dir": str(base),
            "save": "",  # no snapshots
            "appendonly": "no",
            "daemonize": "no",
            "protected-mode": "yes",
        }
        command = [*_as_user(None, "TERM"), exe]
        command += [word for key, value in options.items() for word in (f"--{key}", value)]
        return _start(
            "redis-server",
            command,
            log,
            lambda: _redis_pings(port),
            cwd=base,
            stop_signals=REDIS_STOP,
        )

    proc, port = _start_on_free_port("redis-server", start)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop(proc, REDIS_STOP)


# --- PostgreSQL --------------------------------------------------------------------------------


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path.name)) or (0,)


def _postgres_bindir() -> Path | None:
    """Debian's newest ``/usr/lib/postgresql/<version>/bin``, else the folder on PATH."""
    if PG_DEBIAN_ROOT.is_dir():
        versions = sorted(
            (d for d in PG_DEBIAN_ROOT.iterdir() if (d / "bin" / "postgres").exists()),
            key=_version_key,
        )
        if versions:
            return versions[-1] / "bin"
    found = shutil.which("initdb")
    if found and shutil.which("postgres", path=str(Path(found).parent)):
        return Path(found).parent
    return None


def _postgres_ready(port: int) -> bool:
    import psycopg

    try:
        with psycopg.connect(
            host="127.0.0.1", port=port, user=PG_SUPERUSER, dbname="postgres", connect_timeout=2
        ):
            return True
    except psycopg.OperationalError:
        return False


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real PostgreSQL cluster on loopback for the whole session, with ``affectline_test``.

    Yields an SQLAlchemy 2 URL for the psycopg 3 driver. Trust authentication: any local
    process may connect as the superuser ``postgres``, which is fine for a throw-away cluster.
    """
    bindir = _postgres_bindir()
    if bindir is None:
        _unavailable(
            f"PostgreSQL is not installed (no {PG_DEBIAN_ROOT}/<version>/bin/postgres and no "
            "initdb on PATH; apt-get install postgresql)"
        )

    run_as: str | None = None
    account: pwd.struct_passwd | None = None
    owned_tmp: Path | None = None
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam(PG_SYSTEM_USER)
        except KeyError:
            _unavailable(
                f"PostgreSQL refuses to run as root and there is no {PG_SYSTEM_USER!r} user "
                "(the Debian postgresql package creates it)"
            )
        run_as = PG_SYSTEM_USER
        # pytest's own temporary root is private to root (mode 700), so the postgres user could
        # not reach a folder inside it: use a folder of its own directly under the temp dir.
        owned_tmp = Path(tempfile.mkdtemp(prefix="affectline-postgres-"))
        os.chown(owned_tmp, account.pw_uid, account.pw_gid)
        base = owned_tmp
    else:
        base = tmp_path_factory.mktemp("postgres")

    data = base / "data"
    sockets = base / "sockets"
    log = base / "postgres.log"
    proc: subprocess.Popen[bytes] | None = None
    healthy = False
    try:
        initdb = subprocess.Popen(
            [
                *_as_user(run_as, None),
                str(bindir / "initdb"),
                f"--pgdata={data}",
                f"--username={PG_SUPERUSER}",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            cwd=base,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            output, _ = initdb.communicate(timeout=INITDB_TIMEOUT)
        except subprocess.TimeoutExpired:
            initdb.kill()
            output, _ = initdb.communicate()
        (base / "initdb.log").write_bytes(output)
        if initdb.returncode != 0:
            raise RuntimeError(
                f"initdb failed (code {initdb.returncode}, limit {INITDB_TIMEOUT:.0f} s); "
                f"log {base / 'initdb.log'}:\n" + output.decode(errors="replace")[-3000:]
            )
        sockets.mkdir()
        if account is not None:
            os.chown(sockets, account.pw_uid, account.pw_gid)

        def start(port: int) -> subprocess.Popen[bytes]:
            command = [
                *_as_user(run_as, "INT"),
                str(bindir / "postgres"),
                "-D",
                str(data),
                f"--port={port}",
                f"--unix_socket_directories={sockets}",
                "--listen_addresses=127.0.0.1",
                # A throw-away cluster: durability costs time and buys nothing here.
                "--fsync=off",
                "--synchronous_commit=off",
                "--full_page_writes=off",
            ]
            return _start(
                "postgres",
                command,
                log,
                lambda: _postgres_ready(port),
                cwd=base,
                stop_signals=POSTGRES_STOP,
            )

        proc, port = _start_on_free_port("postgres", start)

        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=port, user=PG_SUPERUSER, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{PG_DATABASE}"')
        healthy = True
        yield f"postgresql+psycopg://{PG_SUPERUSER}@127.0.0.1:{port}/{PG_DATABASE}"
    finally:
        if proc is not None:
            _stop(proc, POSTGRES_STOP)
        # Keep the folder (and its log) when the server never came up, for the post-mortem.
        if owned_tmp is not None and healthy:
            shutil.rmtree(owned_tmp, ignore_errors=True)
