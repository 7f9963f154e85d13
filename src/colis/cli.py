"""The `colis` command: serve, worker, migrate, user, token, check, redact."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence

OWNER_EMAIL_DEFAULT = "owner@example.com"


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "colis.settings")
    import django

    django.setup()


def _err(message: str) -> int:
    print(f"colis: {message}", file=sys.stderr)
    return 1


def cmd_migrate(args: argparse.Namespace) -> int:
    _setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=args.verbosity)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    _setup()
    from colis.core.worker import worker_run

    worker_run(interval=args.interval, batch=args.batch)
    return 0


def cmd_user_create(args: argparse.Namespace) -> int:
    _setup()
    from colis.accounts.services import user_create
    from colis.core.actor import Actor
    from colis.core.errors import DomainError

    try:
        user = user_create(
            email=args.email,
            role=args.role,
            password=args.password,
            name=args.name or "",
            actor=Actor.system("cli"),
        )
    except DomainError as exc:
        return _err(f"{exc.message} {exc.fields or ''}".strip())
    print(f"created {user.role} {user.email}")
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    _setup()
    from colis.accounts.models import User
    from colis.accounts.services import token_create
    from colis.core.actor import Actor

    user = User.objects.filter(email=args.email.strip().lower(), is_active=True).first()
    if user is None:
        return _err(f"no active user with email {args.email}")
    issued = token_create(user=user, name=args.name or "cli", actor=Actor.system("cli"))
    print(issued.raw)
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    _setup()
    from colis.accounts.services import token_revoke
    from colis.core.actor import Actor
    from colis.core.errors import DomainError

    try:
        token = token_revoke(token_id=args.id, actor=Actor.system("cli"))
    except DomainError as exc:
        return _err(exc.message)
    print(f"revoked token {token.pk} ({token.prefix}...)")
    return 0


def _check_email(url: str) -> int:
    """Print the mail transport and, for SMTP, whether its server answers. Returns problems."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if not parts.scheme.startswith("smtp"):
        print(f"email:     {parts.scheme}:// (messages are printed, not sent)")
        return 0
    host = parts.hostname or "localhost"
    port = parts.port or (
        465 if parts.scheme == "smtp+ssl" else 587 if "tls" in parts.scheme else 25
    )
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as exc:
        print(f"email:     {parts.scheme}://{host}:{port} NOT reachable: {exc}")
        return 1
    print(f"email:     {parts.scheme}://{host}:{port} reachable")
    return 0


def _check_tracking_data() -> None:
    """Missing format data is not fatal: tracking numbers are then accepted unchecked."""
    from colis.shipping.tracking import tracking_data

    data = tracking_data()
    if data.available:
        print(f"tracking:  {len(data.formats)} number formats from {data.source}")
    else:
        print("tracking:  no number format data (COLIS_TRACKING_DATA_DIR); numbers not checked")
    for problem in data.problems:
        print(f"           skipped {problem}")


def cmd_check(args: argparse.Namespace) -> int:
    _setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    problems = 0
    print(f"home:      {settings.HOME}")
    print(f"database:  {connection.vendor} ({connection.settings_dict.get('NAME')})")
    try:
        connection.ensure_connection()
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        print(
            "           reachable"
            + (
                f", {len(pending)} migrations to apply (colis migrate)"
                if pending
                else ", schema up to date"
            )
        )
        problems += bool(pending)
    except Exception as exc:  # any driver error means the same to the operator
        print(f"           NOT reachable: {exc}")
        problems += 1
    problems += _check_email(settings.EMAIL_URL)
    print(f"base url:  {settings.BASE_URL}")
    _check_tracking_data()
    try:
        call_command("check", verbosity=0)
        print("django:    system checks passed")
    except Exception as exc:
        print(f"django:    {exc}")
        problems += 1
    return 1 if problems else 0


def _first_run(demo: bool) -> None:
    """Migrate; create the owner and a token on an empty database; load demo data once."""
    from django.core.management import call_command

    from colis.accounts.models import User
    from colis.accounts.roles import Role
    from colis.accounts.services import token_create, user_create
    from colis.core.actor import Actor

    call_command("migrate", interactive=False, verbosity=0)
    system = Actor.system("setup")
    if not User.objects.exists():
        import secrets

        email = os.environ.get("COLIS_OWNER_EMAIL", OWNER_EMAIL_DEFAULT)
        password = secrets.token_urlsafe(12)
        owner = user_create(email=email, role=Role.OWNER, password=password, actor=system)
        issued = token_create(user=owner, name="first run", actor=system)
        print("Colis is set up. Keep these; they are shown only once:", flush=True)
        print(f"  owner:     {owner.email}", flush=True)
        print(f"  password:  {password}", flush=True)
        print(f"  API token: {issued.raw}", flush=True)
    if demo:
        from colis.demo import demo_load

        if demo_load(actor=system):
            print("Demo data loaded.", flush=True)


def cmd_setup(args: argparse.Namespace) -> int:
    """What `colis serve` does before serving: the data folder, the schema, the first owner."""
    from colis.home import ensure_home, secret_key

    ensure_home()
    secret_key()
    _setup()
    _first_run(args.demo)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from colis.home import ensure_home, secret_key

    home = ensure_home()
    secret_key()
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="colis.settings", COLIS_HOME=str(home))
    # Migrations and the first-run setup happen in a child process: this one only watches
    # the web and worker processes, and stays small.
    prepare = [sys.executable, "-m", "colis.cli", "setup", *(["--demo"] if args.demo else [])]
    if subprocess.run(prepare, env=env).returncode != 0:
        return _err("setting up the database failed (see above)")
    web = [
        sys.executable,
        "-m",
        "gunicorn",
        "colis.wsgi:application",
        "--bind",
        f"{args.host}:{args.port}",
        "--workers",
        str(args.workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(args.threads),
        "--timeout",
        "120",
        "--graceful-timeout",
        "10",
        "--keep-alive",
        "30",
        # The application is loaded once and the web processes share it (less memory each).
        "--preload",
        "--log-level",
        "warning",
        "--access-logfile",
        "-" if args.access_log else "/dev/null",
    ]
    children: dict[str, subprocess.Popen[bytes]] = {"web": subprocess.Popen(web, env=env)}
    worker_cmd = [sys.executable, "-m", "colis.cli", "worker"]
    if not args.no_worker:
        children["worker"] = subprocess.Popen(worker_cmd, env=env)
    print(
        f"Colis is serving on http://{args.host}:{args.port} "
        f"(API: /api/v1/, docs: /api/v1/docs){'' if args.no_worker else ' with its worker'}",
        flush=True,
    )

    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    code = 0
    while True:
        time.sleep(0.5)
        if stopping:
            break
        if children["web"].poll() is not None:
            code = children["web"].returncode or 1
            print("colis: the web server stopped", file=sys.stderr)
            break
        worker = children.get("worker")
        if worker is not None and worker.poll() is not None:
            print("colis: the worker stopped; starting it again", file=sys.stderr)
            children["worker"] = subprocess.Popen(worker_cmd, env=env)
    for child in children.values():
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + 15
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
    return code


def cmd_emulate(args: argparse.Namespace) -> int:
    """Serve a vendor emulator until interrupted (needs no database)."""
    from colis.emulators import emulator_class
    from colis.emulators.server import EmulatorServer

    emulator = emulator_class(args.vendor)(limits=not args.no_limits)
    if args.orders:
        skus = [s for s in (args.skus or "").split(",") if s] or [
            f"SKU-{i:03d}" for i in range(1, 11)
        ]
        emulator.seed_orders({"count": args.orders, "skus": skus})
    server = EmulatorServer(emulator, host=args.host, port=args.port)
    print(f"{args.vendor} emulator on {server.url} (limits {'off' if args.no_limits else 'on'})",
          flush=True)  # fmt: skip
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="colis", description="Colis order fulfillment.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="set up on first run, then serve the API and worker")
    serve.add_argument("--demo", action="store_true", help="load demo data on first run")
    serve.add_argument("--host", default=os.environ.get("COLIS_HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("COLIS_PORT", "8000")))
    serve.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("COLIS_WEB_WORKERS", "2")),
        help="web processes (default 2)",
    )
    serve.add_argument(
        "--threads",
        type=int,
        default=int(os.environ.get("COLIS_WEB_THREADS", "4")),
        help="threads per web process (default 4)",
    )
    serve.add_argument("--no-worker", action="store_true", help="do not start the worker")
    serve.add_argument("--access-log", action="store_true", help="log every request")
    serve.set_defaults(func=cmd_serve)

    setup = sub.add_parser(
        "setup", help="create the data folder, migrate, and the owner on an empty database"
    )
    setup.add_argument("--demo", action="store_true", help="load demo data into an empty shop")
    setup.set_defaults(func=cmd_setup)

    worker = sub.add_parser("worker", help="run the background worker")
    worker.add_argument("--interval", type=float, default=0.5, help="seconds between polls")
    worker.add_argument("--batch", action="store_true", help="exit when the queue is empty")
    worker.set_defaults(func=cmd_worker)

    migrate = sub.add_parser("migrate", help="create or update the database schema")
    migrate.add_argument("--verbosity", type=int, default=1)
    migrate.set_defaults(func=cmd_migrate)

    user = sub.add_parser("user", help="manage users").add_subparsers(dest="action", required=True)
    create = user.add_parser("create", help="create a user")
    create.add_argument("--email", required=True)
    create.add_argument("--role", required=True, choices=["owner", "manager", "staff", "readonly"])
    create.add_argument("--password")
    create.add_argument("--name")
    create.set_defaults(func=cmd_user_create)

    token = sub.add_parser("token", help="manage API tokens").add_subparsers(
        dest="action", required=True
    )
    tcreate = token.add_parser("create", help="create a token and print it")
    tcreate.add_argument("--email", required=True)
    tcreate.add_argument("--name")
    tcreate.set_defaults(func=cmd_token_create)
    trevoke = token.add_parser("revoke", help="revoke a token by its id")
    trevoke.add_argument("--id", type=int, required=True)
    trevoke.set_defaults(func=cmd_token_revoke)

    emulate = sub.add_parser("emulate", help="run a local emulator of a vendor's API")
    emulate.add_argument("vendor", choices=["amazon", "ebay", "shopify", "bigcommerce"])
    emulate.add_argument("--host", default="127.0.0.1")
    emulate.add_argument("--port", type=int, default=8100)
    emulate.add_argument("--no-limits", action="store_true", help="do not enforce rate limits")
    emulate.add_argument("--orders", type=int, default=0, help="orders to serve from the start")
    emulate.add_argument("--skus", default="", help="comma-separated SKUs for those orders")
    emulate.set_defaults(func=cmd_emulate)

    from colis.documents import commands as document_commands
    from colis.orders import commands as order_commands
    from colis.shipping import commands as shipping_commands

    document_commands.register(sub)
    shipping_commands.register(sub)
    order_commands.register(sub)

    check = sub.add_parser("check", help="check configuration and connectivity")
    check.set_defaults(func=cmd_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
