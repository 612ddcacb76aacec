#!/usr/bin/env python3
"""Drives Persona's `zitadel.user.v2.UserService` with ZITADEL's own Python SDK (`zitadel-client`).

The SDK speaks the Connect protocol with JSON bodies (`POST /zitadel.user.v2.UserService/<Rpc>`).
This script runs one user's life through it and prints one JSON line per step on standard
output, so that a test written in another language can check every answer:

    {"step": "add", "ok": true, "user_id": "...", "sequence": "1", ...}
    {"step": "get_after_delete", "ok": false, "http_status": 404, "code": "not_found", "message": "..."}

Nothing is asserted here: the script reports what the server said, and the caller judges it
(tests/e2e/sdk.rs). It exits 0 when every step ran (whatever the server answered) and 2 when
the SDK itself broke (a bug in this script or the SDK, not an answer of the server).

Usage: v2_flow.py BASE_URL TOKEN [--tag TAG] [--v1-user ID] [--header NAME:VALUE ...] [--pause]
"""

import argparse
import json
import sys
import warnings
from typing import Any, Callable, Dict, Optional

import authlib.deprecate  # noqa: E402 - loaded first so the filter below outranks its own

# The SDK imports a deprecated authlib module at start; that warning is the SDK's, not ours.
warnings.filterwarnings("ignore", category=authlib.deprecate.AuthlibDeprecationWarning)
from zitadel_client import ApiError, TransportOptions, Zitadel  # noqa: E402
from zitadel_client.models import (  # noqa: E402
    UserServiceAddHumanUserRequest,
    UserServiceDeleteUserRequest,
    UserServiceGetUserByIDRequest,
    UserServiceListUsersRequest,
    UserServiceUpdateHumanUserRequest,
    UserServiceUpdateUserRequest,
)


def text(value: Any) -> Optional[str]:
    """An enum member, a number or a string as the plain string the wire carried; None stays None."""
    if value is None:
        return None
    return str(getattr(value, "value", value))


def stamp(value: Any) -> Optional[str]:
    """A timestamp the SDK parsed into a datetime, as ISO 8601 (None when absent)."""
    return None if value is None else value.isoformat()


def details(d: Any) -> Dict[str, Any]:
    """The fields of a `zitadel.object.v2.Details` the tests compare."""
    if d is None:
        return {"sequence": None}
    return {
        "sequence": text(d.sequence),
        "resource_owner": d.resource_owner,
        "change_date": stamp(d.change_date),
        "creation_date": stamp(d.creation_date),
    }


def user(u: Any) -> Dict[str, Any]:
    """A `zitadel.user.v2.User` flattened to what the tests compare."""
    if u is None:
        return {"user_id": None}
    out: Dict[str, Any] = {
        "user_id": u.user_id,
        "state": text(u.state),
        "username": u.username,
        "login_names": u.login_names,
        "preferred_login_name": u.preferred_login_name,
        **details(u.details),
    }
    human = u.human
    if human is not None:
        p = human.profile
        if p is not None:
            out.update(
                given_name=p.given_name,
                family_name=p.family_name,
                nick_name=p.nick_name,
                display_name=p.display_name,
                preferred_language=p.preferred_language,
                gender=text(p.gender),
            )
        if human.email is not None:
            out.update(email=human.email.email, email_verified=bool(human.email.is_verified))
        if human.phone is not None:
            out.update(phone=human.phone.phone, phone_verified=bool(human.phone.is_verified))
    return out


def report(step: str, call: Callable[[], Any], describe: Callable[[Any], Dict[str, Any]]) -> Any:
    """Runs one SDK call and prints its outcome as one JSON line; returns the answer or None."""
    try:
        answer = call()
    except ApiError as error:
        body = error.response_body if isinstance(error.response_body, dict) else {}
        line = {
            "step": step,
            "ok": False,
            "http_status": error.code,
            "code": body.get("code"),
            "message": body.get("message", error.response_body if not body else None),
            "details": body.get("details"),
        }
        print(json.dumps(line), flush=True)
        return None
    print(json.dumps({"step": step, "ok": True, **describe(answer)}), flush=True)
    return answer


def listed(answer: Any) -> Dict[str, Any]:
    """A `ListUsersResponse`: the total and the ids, in order."""
    d = answer.details
    return {
        "total_result": text(d.total_result) if d is not None else None,
        "user_ids": [u.user_id for u in (answer.result or [])],
        "users": [user(u) for u in (answer.result or [])],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base_url", help="for example http://127.0.0.1:8080")
    parser.add_argument("token", help="a personal access token (sent as a bearer token)")
    parser.add_argument("--tag", default="py", help="makes the user name and email unique")
    parser.add_argument("--v1-user", help="a user made over v1: read and updated through the SDK too")
    parser.add_argument("--header", action="append", default=[], help="NAME:VALUE sent with every call")
    parser.add_argument(
        "--pause",
        action="store_true",
        help="before deleting, print a 'paused' line and wait for a line on standard input",
    )
    args = parser.parse_args()

    headers = dict(h.split(":", 1) for h in args.header)
    options = TransportOptions(default_headers={k.strip(): v.strip() for k, v in headers.items()})
    client = Zitadel.with_access_token(args.base_url, args.token, transport_options=options)
    users = client.users
    name = f"sdk-{args.tag}"
    email = f"ada-{args.tag}@example.com"

    added = report(
        "add",
        lambda: users.add_human_user(
            UserServiceAddHumanUserRequest.from_dict(
                {
                    "username": name,
                    "profile": {
                        "givenName": "Ada",
                        "familyName": "Lovelace",
                        "nickName": "Ada",
                        "displayName": "Ada Lovelace",
                        "preferredLanguage": "en",
                        "gender": "GENDER_FEMALE",
                    },
                    "email": {"email": email, "returnCode": {}},
                    "phone": {"phone": "+41791234567", "isVerified": True},
                }
            )
        ),
        lambda a: {
            "user_id": a.user_id,
            **details(a.details),
            "email_code": a.email_code,
            "phone_code": a.phone_code,
        },
    )
    if added is None:
        return 0
    user_id = added.user_id or ""

    def get(step: str, uid: str) -> Any:
        return report(
            step,
            lambda: users.get_user_by_id(UserServiceGetUserByIDRequest.from_dict({"userId": uid})),
            lambda a: user(a.user),
        )

    get("get", user_id)
    report(
        "update_human",
        lambda: users.update_human_user(
            UserServiceUpdateHumanUserRequest.from_dict(
                {
                    "userId": user_id,
                    "profile": {"givenName": "Augusta", "familyName": "King", "displayName": "Ada King"},
                }
            )
        ),
        lambda a: {**details(a.details), "email_code": a.email_code, "phone_code": a.phone_code},
    )
    get("get_after_update_human", user_id)

    update_user = UserServiceUpdateUserRequest.from_dict(
        {"userId": user_id, "human": {"profile": {"nickName": "Countess", "preferredLanguage": "de"}}}
    )
    report(
        "update_user",
        lambda: users.update_user(update_user),
        lambda a: {"change_date": stamp(a.change_date)},
    )
    get("get_after_update_user", user_id)
    report("update_user_noop", lambda: users.update_user(update_user), lambda a: {"change_date": stamp(a.change_date)})

    report(
        "invalid_given_name",
        lambda: users.update_human_user(
            UserServiceUpdateHumanUserRequest.from_dict(
                {"userId": user_id, "profile": {"givenName": "", "familyName": "King"}}
            )
        ),
        lambda a: details(a.details),
    )
    report(
        "add_send_code",
        lambda: users.add_human_user(
            UserServiceAddHumanUserRequest.from_dict(
                {
                    "username": f"{name}-mail",
                    "profile": {"givenName": "Mail", "familyName": "Sender"},
                    "email": {"email": f"mail-{args.tag}@example.com", "sendCode": {}},
                }
            )
        ),
        lambda a: {"user_id": a.user_id},
    )

    def list_users(step: str, query: Dict[str, Any]) -> Any:
        request = UserServiceListUsersRequest.from_dict({"query": {"limit": 10}, "queries": [query]})
        return report(step, lambda: users.list_users(request), listed)

    by_name = {"userNameQuery": {"userName": name, "method": "TEXT_QUERY_METHOD_EQUALS"}}
    list_users("list_by_username", by_name)
    list_users(
        "list_by_email",
        {"emailQuery": {"emailAddress": email.upper(), "method": "TEXT_QUERY_METHOD_EQUALS_IGNORE_CASE"}},
    )

    if args.v1_user:
        get("v1_get", args.v1_user)
        report(
            "v1_update_user",
            lambda: users.update_user(
                UserServiceUpdateUserRequest.from_dict(
                    {"userId": args.v1_user, "human": {"profile": {"givenName": "Grace"}}}
                )
            ),
            lambda a: {"change_date": stamp(a.change_date)},
        )
        get("v1_get_after_update", args.v1_user)

    if args.pause:
        # The caller checks the user over v1 now (its history is gone once it is deleted).
        print(json.dumps({"step": "paused", "ok": True, "user_id": user_id}), flush=True)
        sys.stdin.readline()

    report(
        "delete",
        lambda: users.delete_user(UserServiceDeleteUserRequest.from_dict({"userId": user_id})),
        lambda a: details(a.details),
    )
    get("get_after_delete", user_id)
    report(
        "update_after_delete",
        lambda: users.update_user(update_user),
        lambda a: {"change_date": stamp(a.change_date)},
    )
    list_users("list_after_delete", by_name)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as broken:  # noqa: BLE001 - anything else is a broken rig, said once
        print(json.dumps({"step": "sdk", "ok": False, "error": f"{type(broken).__name__}: {broken}"}), flush=True)
        sys.exit(2)
