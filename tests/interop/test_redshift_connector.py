"""Amazon's redshift_connector, unmodified in its own venv, with ``iam=True``: the driver
itself finds the endpoint (DescribeClusters / GetWorkgroup) and fetches the password
(GetClusterCredentials, GetClusterCredentialsWithIAM, serverless GetCredentials) through
``AWS_ENDPOINT_URL``, then logs in over verify-full TLS trusting ``SSL_CERT_FILE``. No host,
port, keys or endpoint are given: only what a user types for a real cluster."""

from __future__ import annotations

import json
from typing import Any

import pytest

from redshift_ephemeral.local import seed

from .conftest import Client, assert_succeeded

# Connects with the keyword arguments given as JSON and prints the row count of my_table.
COUNT_ROWS = """
import json, sys
import redshift_connector

connection = redshift_connector.connect(**json.loads(sys.argv[1]))
try:
    cursor = connection.cursor()
    cursor.execute("SELECT COUNT(*) FROM my_table")
    print(json.dumps({"rows": cursor.fetchone()[0]}))
finally:
    connection.close()
"""


def count_rows(client: Client, **connect: Any) -> int:
    result = client.python("redshift_connector", COUNT_ROWS, json.dumps(connect))
    assert_succeeded(result)
    return int(json.loads(result.stdout.splitlines()[-1])["rows"])


PROVISIONED = {
    "iam": True,
    "cluster_identifier": seed.CLUSTER_ID,
    "region": seed.REGION,
    "database": seed.DATABASE,
    "sslmode": "verify-full",
}


@pytest.mark.parametrize(
    "connect",
    [
        pytest.param(
            {
                **PROVISIONED,
                "db_user": seed.READER_USER,
                "db_groups": [seed.GROUP],
                "auto_create": True,
            },
            id="db_user-groups-auto_create",
        ),
        pytest.param({**PROVISIONED, "group_federation": True}, id="group_federation"),
        pytest.param(
            {
                "iam": True,
                "is_serverless": True,
                "serverless_work_group": seed.WORKGROUP,
                "region": seed.REGION,
                "database": seed.DATABASE,
                "sslmode": "verify-full",
            },
            id="serverless",
        ),
    ],
)
def test_iam_connect_discovers_the_endpoint_and_reads_my_table(
    client: Client, connect: dict[str, Any]
) -> None:
    assert count_rows(client, **connect) == seed.TABLE_ROWS
    calls = client.stack.calls()
    discovery = (
        "redshift-serverless:GetWorkgroup"
        if connect.get("is_serverless")
        else ("redshift:DescribeClusters")
    )
    assert calls.get(discovery, 0) >= 1, calls  # the driver found the endpoint itself
