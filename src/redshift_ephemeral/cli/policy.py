"""Print the least-privilege IAM policy (JSON) for the target and mode: the credential call
on exactly the dbuser / dbname / dbgroup resources it needs, and DescribeClusters or
GetWorkgroup when the endpoint is discovered.

  redshift-ephemeral policy --cluster-id analytics --db-user alice --region eu-west-1
  redshift-ephemeral policy --cluster-id analytics --db-user x --self-service --role-id AROA…

``--self-service`` prints AWS's self-service pattern: every session of one role may get
credentials as the database user named like its session (``${redshift:DbUser}`` under an
``aws:userid`` condition), so one policy serves every federated user.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .options import add_target_arguments, resolve

if TYPE_CHECKING:
    from ..source import CredentialSource


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    parser.add_argument(
        "--account", help="AWS account id (default: your identity's, from sts:GetCallerIdentity)"
    )
    parser.add_argument(
        "--self-service",
        action="store_true",
        help="any session of a role as the database user named like the session "
        "(${redshift:DbUser} with an aws:userid condition)",
    )
    parser.add_argument(
        "--role-id",
        help="the role's unique id (AROA…) for --self-service (default: your current role's)",
    )


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from ..aws.policy import policy_document, uses_discovery
    from ..errors import ConfigurationError
    from ..source import CredentialSource

    source = CredentialSource.from_options(**resolve(args, environ))
    account = args.account
    if account is not None and not (account.isdigit() and len(account) == 12):
        raise ConfigurationError(f"Invalid account {account!r}: an AWS account id is 12 digits.")
    region = source.request.target.region or source.identity.region
    if account is None or region is None:
        from ..aws.issuers import issuer_for

        issuer = issuer_for(source.identity)
        region = region or issuer.clients.region()
        account = account or issuer.account()
    request = source.request
    if request.db_name is None and uses_discovery(request):
        # The database defaults to the cluster's own: name it rather than '*' when we can.
        from dataclasses import replace

        from ..aws.issuers import issuer_for

        try:
            database = issuer_for(source.identity).endpoint(request.target).default_database
            request = replace(request, db_name=database)
        except Exception:  # noqa: S110 - best effort; '*' stays correct, only broader
            pass
    if account is None:
        print(
            "note: could not read your AWS account (sts:GetCallerIdentity); using '*' - "
            "pass --account",
            file=sys.stderr,
        )
    role_id = args.role_id
    if args.self_service and role_id is None:
        role_id = _current_role_id(source)
    document = policy_document(
        request,
        region or "*",
        account or "*",
        self_service_role_id=role_id if args.self_service else None,
    )
    print(json.dumps(document, indent=2))
    return 0


def _current_role_id(source: CredentialSource) -> str:
    """The unique id of the role the caller is a session of (its user id: ``AROA…:session``)."""
    from ..aws.issuers import issuer_for
    from ..errors import ConfigurationError

    user_id = str(issuer_for(source.identity).clients.sts().get_caller_identity()["UserId"])
    if ":" not in user_id:
        raise ConfigurationError(
            "--self-service needs a role: you are signed in as an IAM user. Pass --role-id "
            "(aws iam get-role --role-name NAME --query Role.RoleId)."
        )
    return str(user_id.split(":", 1)[0])
