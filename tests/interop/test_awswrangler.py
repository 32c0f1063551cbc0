"""AWS SDK for pandas (awswrangler), unmodified in its own venv: ``redshift.connect_temp``
gets a temporary password with GetClusterCredentials and the endpoint with DescribeClusters
(through ``AWS_ENDPOINT_URL``), connects with redshift_connector (trusting
``SSL_CERT_FILE``), and ``read_sql_query`` reads the seeded table into a DataFrame."""

from __future__ import annotations

import json

from redshift_ephemeral.local import seed

from .conftest import Client, assert_succeeded

# What a user writes, as written.
READ_MY_TABLE = """
import json
import awswrangler as wr

connection = wr.redshift.connect_temp(
    cluster_identifier="demo-cluster", user="alice", database="dev"
)
try:
    frame = wr.redshift.read_sql_query("SELECT id, name FROM my_table", con=connection)
    print(json.dumps({"rows": len(frame), "columns": list(frame.columns)}))
finally:
    connection.close()
"""


def test_connect_temp_reads_my_table_into_a_dataframe(client: Client) -> None:
    result = client.python("awswrangler", READ_MY_TABLE)
    assert_succeeded(result)
    answer = json.loads(result.stdout.splitlines()[-1])
    assert answer == {"rows": seed.TABLE_ROWS, "columns": ["id", "name"]}
    assert client.stack.calls().get("redshift:GetClusterCredentials") == 1
