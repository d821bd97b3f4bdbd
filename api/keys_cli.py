"""`medkg keys create|list|revoke`: manage API keys (stored hashed in $MEDKG_HOME/api-keys.json)."""

from __future__ import annotations

import argparse

from kg.cliutil import add_json_flag, emit, table
from kg.settings import get_settings


def cmd_keys(args: argparse.Namespace) -> int:
    from api.security import KeyStore

    store = KeyStore.from_settings(get_settings())
    if args.action == "create":
        if not args.role or not args.name:
            raise SystemExit("error: keys create needs --name and --role")
        key, secret = store.create(args.name, args.role)
        out = {**key.public(), "api_key": secret}
        emit(out, args.json, lambda o: f"created {o['role']} key {o['id']} for {o['name']}\n"
             f"API key (shown once; send it as X-API-Key): {o['api_key']}")
    elif args.action == "list":
        keys = [k.public() for k in store.list()]
        emit(keys, args.json, lambda ks: table([(k["id"], k["name"], k["role"], k["created"],
                                                 "revoked" if k["revoked"] else "active") for k in ks],
                                               ("id", "name", "role", "created", "status")))
    else:
        if not args.id:
            raise SystemExit("error: keys revoke needs --id")
        ok = store.revoke(args.id)
        emit({"id": args.id, "revoked": ok}, args.json,
             lambda o: f"revoked key {o['id']}" if o["revoked"] else f"no key with id {o['id']}")
        return 0 if ok else 1
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("keys", help="create, list or revoke API keys",
                       description="Manage API keys; roles: admin, clinician, researcher.")
    p.add_argument("action", choices=["create", "list", "revoke"])
    p.add_argument("--name", help="who the key is for (create)")
    p.add_argument("--role", choices=["admin", "clinician", "researcher"], help="role (create)")
    p.add_argument("--id", help="key id (revoke)")
    add_json_flag(p)
    p.set_defaults(func=cmd_keys)
