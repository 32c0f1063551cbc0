"""Print the least-privilege IAM policy (JSON) for the target and mode: the credential call
on exactly the dbuser / dbname / dbgroup resources it needs, and DescribeClusters or
GetWorkgroup when the endpoint is discovered.

  redshift-ephemeral policy --cluster-id analytics --db-user alice --region eu-west-1
  redshift-ephemeral policy --cluster-id analytics --db-user x --self-service --role-id AROA…

``--self-service`` prints AWS's self-service pattern: every session of one role may get
credentials as the database user named like its session (``${redshift:DbUser}`` under an
``aws:userid`` condition), so one policy serves every federated user. ``--data-api``
prints what the Data API driver needs: the credential call the service makes for you, and
``redshift-data`` on the target and on your own statements and sessions.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping

from .options import add_target_arguments, source_from_arguments


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
        "--data-api",
        action="store_true",
        help="for the Data API driver (--driver data_api): redshift-data statements instead "
        "of endpoint discovery",
    )
    parser.add_argument(
        "--role-id",
        help="the role's unique id (AROA…) for --self-service (default: your current role's)",
    )


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    policy = source_from_arguments(args, environ).iam_policy(
        account=args.account,
        self_service=args.self_service,
        role_id=args.role_id,
        data_api=args.data_api,
    )
    if not policy.account_known:
        print(
            "note: could not read your AWS account (sts:GetCallerIdentity); using '*' - "
            "pass --account",
            file=sys.stderr,
        )
    print(json.dumps(policy.document, indent=2))
    return 0
