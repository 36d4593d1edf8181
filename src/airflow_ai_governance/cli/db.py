"""``aigov db upgrade|check``: create, upgrade and check the sidecar schema."""

from __future__ import annotations

import argparse

from airflow_ai_governance.cli import EXIT_CHECK_FAILED, EXIT_OK


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("db", help="create, upgrade and check the sidecar database")
    actions = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    actions.add_parser(
        "upgrade", help="create or upgrade the sidecar schema to the latest revision (idempotent)"
    ).set_defaults(func=upgrade_command)
    actions.add_parser(
        "check",
        help="exit 0 if the sidecar is reachable and at the latest revision, 1 if it needs an upgrade",
    ).set_defaults(func=check_command)


def upgrade_command(args: argparse.Namespace) -> int:
    from airflow_ai_governance.store import current_revision, mask_url, resolve_url, upgrade

    url = resolve_url(args.db_url)
    before = current_revision(url)
    upgrade(url)
    after = current_revision(url)
    change = "already up to date" if before == after else f"upgraded from {before or 'an empty database'}"
    print(f"AI governance sidecar at {mask_url(url)}: revision {after} ({change})")
    from airflow_ai_governance.keys import ensure_key_file, key_file

    generated = ensure_key_file()
    if generated:
        print(f"Generated {', '.join(generated)} key(s) into {key_file()} (keep it secret, back it up)")
    from airflow_ai_governance.store.audit import seal_unkeyed

    sealed = seal_unkeyed(url)
    if sealed is not None:
        print(
            f"Sealed the {sealed.seq - 1} audit events written before the keyed chain "
            f"(audit_chain_keyed at seq {sealed.seq})"
        )
    return EXIT_OK


def check_command(args: argparse.Namespace) -> int:
    from airflow_ai_governance.store import current_revision, mask_url, resolve_url
    from airflow_ai_governance.store.migrations import HEAD_REVISION

    url = resolve_url(args.db_url)
    revision = current_revision(url)
    if revision == HEAD_REVISION:
        print(f"AI governance sidecar at {mask_url(url)}: revision {revision} (up to date)")
        return EXIT_OK
    print(
        f"AI governance sidecar at {mask_url(url)}: revision {revision or 'none'}, expected "
        f"{HEAD_REVISION}. Run `aigov db upgrade`."
    )
    return EXIT_CHECK_FAILED
