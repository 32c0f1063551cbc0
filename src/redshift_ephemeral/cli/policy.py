"""Print the least-privilege IAM policy (JSON) for the target and mode: the credential call
on exactly the dbuser / dbname / dbgroup resources it needs, and DescribeClusters or
GetWorkgroup when the endpoint is discovered.

  redshift-ephemeral policy --cluster-id analytics --db-user alice --region eu-west-1
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping

from .options import add_target_arguments, resolve


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    parser.add_argument(
        "--account", help="AWS account id (default: your identity's, from sts:GetCallerIdentity)"
    )


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from ..errors import ConfigurationError
    from ..policy import policy_document, uses_discovery
    from ..source import CredentialSource

    source = CredentialSource.from_options(**resolve(args, environ))
    account = args.account
    if account is not None and not (account.isdigit() and len(account) == 12):
        raise ConfigurationError(f"Invalid account {account!r}: an AWS account id is 12 digits.")
    region = source.request.target.region or source.identity.region
    if account is None or region is None:
        from ..issuers import issuer_for

        issuer = issuer_for(source.identity)
        region = region or issuer.clients.region()
        account = account or issuer.account()
    request = source.request
    if request.db_name is None and uses_discovery(request):
        # The database defaults to the cluster's own: name it rather than '*' when we can.
        from dataclasses import replace

        from ..issuers import issuer_for

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
    document = policy_document(request, region or "*", account or "*")
    print(json.dumps(document, indent=2))
    return 0
