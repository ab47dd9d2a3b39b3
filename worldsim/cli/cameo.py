"""`worldsim cameo ...`: the likeness-consent registry (who agreed to be a cameo, from which clip).

    worldsim cameo register --name NAME --clip F.mp4 --consent-by WHO [--scope TEXT]
    worldsim cameo list [--json]
    worldsim cameo revoke NAME [--by WHO] [--reason TEXT]
    worldsim cameo history NAME

Every subcommand takes --registry PATH (default: $WORLDSIM_REGISTRY, else
$XDG_DATA_HOME/worldsim/cameo.sqlite, else ~/.local/share/worldsim/cameo.sqlite). The registry
is append-only: revoke adds a record and keeps the registration, so `history` shows both.
The registry (SQLite, numpy, scipy) loads inside the handlers, so `--help` stays instant.
"""

from __future__ import annotations

import argparse
import getpass
import json

from worldsim.cli.args import HelpFormatter


def _open(args: argparse.Namespace):
    from worldsim.provenance.registry import Registry

    return Registry(args.registry)


def cmd_register(args: argparse.Namespace) -> int:
    with _open(args) as registry:
        subject = registry.register(
            args.name, args.clip, consent_by=args.consent_by, scope=args.scope
        )
        print(
            f"registered cameo {subject.name!r} (consent by {subject.consent_by}, scope "
            f"{subject.scope!r}); clip sha256 {subject.clip_sha256[:16]}..., stored at "
            f"{subject.clip_path}; registry {registry.path}"
        )
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    with _open(args) as registry:
        subjects = registry.list()
        if args.json:
            rows = [{**vars(s), "clip_path": str(s.clip_path)} for s in subjects]
            print(json.dumps(rows, indent=1))
            return 0
        if not subjects:
            print(f"no cameo subjects in {registry.path}")
            return 0
        width = max(len(s.name) for s in subjects)
        for s in subjects:
            line = f"{s.name:<{width}}  {s.status:<7}  consent by {s.consent_by}, {s.registered_at}"
            line += f", scope {s.scope!r}"
            if not s.active:
                line += f"; revoked {s.revoked_at} by {s.revoked_by}"
                line += f" ({s.reason})" if s.reason else ""
            print(line)
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    with _open(args) as registry:
        subject = registry.revoke(args.name, by=args.by or getpass.getuser(), reason=args.reason)
        print(
            f"revoked cameo {subject.name!r} ({subject.revoked_at}, by {subject.revoked_by}); "
            "its registration stays on record and its clip is refused as a reference"
        )
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    from worldsim.provenance.registry import CameoError

    with _open(args) as registry:
        events = registry.history(args.name)
        if not events:
            raise CameoError(f"no cameo subject named {args.name!r} in {registry.path}")
        for e in events:
            if e.kind == "register":
                detail = f"scope {e.scope!r}, clip sha256 {e.clip_sha256[:16]}..."
            else:
                detail = f"reason {e.reason!r}" if e.reason else "no reason given"
            print(f"{e.seq:>5}  {e.time}  {e.kind:<8}  {e.name}  by {e.actor}; {detail}")
    return 0


def add_parser(commands, common: argparse.ArgumentParser) -> None:
    place = argparse.ArgumentParser(add_help=False)
    place.add_argument(
        "--registry",
        help="the registry's SQLite file (default: $WORLDSIM_REGISTRY, else "
        "$XDG_DATA_HOME/worldsim/cameo.sqlite, else ~/.local/share/worldsim/cameo.sqlite)",
    )

    def sub(parent, name, **kwargs):
        return parent.add_parser(
            name, parents=[common, place], formatter_class=HelpFormatter, **kwargs
        )

    cameo = commands.add_parser(
        "cameo",
        parents=[common],
        formatter_class=HelpFormatter,
        help="the likeness-consent registry: register, list and revoke cameo subjects",
        description=(
            "Record who consented to appear as a cameo (`generate --reference`), from which "
            "clip, for what scope; revoke that consent. The registry is append-only: a "
            "revocation is a new record, so the history stays auditable, and a revoked "
            "subject's clip (or a re-encoded, resized or trimmed copy of it) is refused as a "
            "reference."
        ),
        epilog=(
            "examples:\n"
            '  worldsim cameo register --name "Ada" --clip ada.mp4 --consent-by "Ada Lovelace"\n'
            "  worldsim cameo list\n"
            '  worldsim cameo revoke Ada --by "Ada Lovelace" --reason "withdrawn"'
        ),
    )
    cameo_commands = cameo.add_subparsers(dest="cameo_command", required=True, metavar="SUBCOMMAND")

    register = sub(cameo_commands, "register", help="record a subject's consent and clip")
    register.add_argument("--name", required=True, help="the subject's name (unique while active)")
    register.add_argument("--clip", required=True, help="video of the subject (copied in)")
    register.add_argument("--consent-by", required=True, help="who gave the consent")
    register.add_argument("--scope", default="any", help="what the consent covers")
    register.set_defaults(handler=cmd_register)

    listing = sub(cameo_commands, "list", help="every subject and whether it is active")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(handler=cmd_list)

    revoke = sub(cameo_commands, "revoke", help="withdraw a subject's consent (kept on record)")
    revoke.add_argument("name", help="the subject's name")
    revoke.add_argument("--by", help="who revokes it (default: the current user)")
    revoke.add_argument("--reason", default="", help="why, for the record")
    revoke.set_defaults(handler=cmd_revoke)

    history = sub(cameo_commands, "history", help="every record of one subject, oldest first")
    history.add_argument("name", help="the subject's name")
    history.set_defaults(handler=cmd_history)
