"""dbt with the Redshift adapter, unmodified in its own venv, with a ``method: iam`` profile in
``~/.dbt/profiles.yml`` as a user writes it for a real cluster: the cluster's endpoint (read
from DescribeClusters with the AWS CLI, as one copies it from the console), ``cluster_id``,
``user``, ``region`` and ``sslmode: verify-full``. dbt gets the password itself
(GetClusterCredentials through ``AWS_ENDPOINT_URL``) and trusts ``SSL_CERT_FILE``.

``dbt debug`` checks the connection, ``dbt run`` builds a table from ``my_table`` in schema
public (PUBLIC has CREATE there, as on Redshift), ``dbt test`` checks it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from redshift_ephemeral.local import seed

from .conftest import Client, assert_succeeded

MODEL = "interop_dbt_rows"
# The project, as a user writes it.

PROJECT_FILES = {
    "dbt_project.yml": """\
name: interop
version: "1.0"
config-version: 2
profile: interop
model-paths: ["models"]
test-paths: ["tests"]
flags:
  send_anonymous_usage_stats: false
""",
    f"models/{MODEL}.sql": """\
{{ config(materialized="table") }}
select id, name from my_table
""",
    "models/schema.yml": f"""\
version: 2
models:
  - name: {MODEL}
    columns:
      - name: id
        data_tests: [not_null, unique]
      - name: name
        data_tests: [not_null]
""",
    # A singular test: any row returned is a failure.
    "tests/row_count.sql": """\
select n from (select count(*) as n from {{ ref("interop_dbt_rows") }}) as counted
where n <> 42
""",
}


def profile(host: str, port: int) -> str:
    return f"""\
interop:
  target: local
  outputs:
    local:
      type: redshift
      method: iam
      cluster_id: {seed.CLUSTER_ID}
      host: {host}
      port: {port}
      user: {seed.READER_USER}
      dbname: {seed.DATABASE}
      schema: public
      region: {seed.REGION}
      sslmode: verify-full
      threads: 1
"""


@pytest.fixture
def project(client: Client) -> Path:
    """A one-model project and the user's profile, with the endpoint DescribeClusters shows."""
    described = client.run(
        [
            "aws",
            "redshift",
            "describe-clusters",
            "--cluster-identifier",
            seed.CLUSTER_ID,
            "--query",
            "Clusters[0].Endpoint",
            "--output",
            "json",
        ],
        venv="awscli",
    )
    assert_succeeded(described)
    endpoint = json.loads(described.stdout)
    (client.home / ".dbt").mkdir()
    (client.home / ".dbt" / "profiles.yml").write_text(
        profile(endpoint["Address"], endpoint["Port"])
    )
    root = client.home / "project"
    for name, text in PROJECT_FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def dbt(client: Client, project: Path, *args: str) -> dict[str, str]:
    """Run a dbt command; the status of each node it ran (from ``target/run_results.json``)."""
    result = client.run(["dbt", *args], venv="dbt", cwd=project, timeout=300)
    assert_succeeded(result)
    if args[0] == "debug":
        return {}
    results = json.loads((project / "target" / "run_results.json").read_text())["results"]
    return {entry["unique_id"]: entry["status"] for entry in results}


def test_debug_run_and_test_a_model_built_from_my_table(client: Client, project: Path) -> None:
    dbt(client, project, "debug")  # exits 1 if the connection test fails
    assert dbt(client, project, "run") == {f"model.interop.{MODEL}": "success"}
    tested = dbt(client, project, "test")
    assert len(tested) == 4  # not_null x2, unique, row_count
    assert set(tested.values()) == {"pass"}, tested
    assert client.stack.calls().get("redshift:GetClusterCredentials", 0) >= 1
