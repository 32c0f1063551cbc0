"""The seed blog post's unit test, rewritten for what AWS and moto 5 really do
(docs/design.md, "The seed's API")."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from redshift_ephemeral import generate_redshift_credentials
from redshift_ephemeral.tls import AMAZON_ROOT_LABELS


@pytest.fixture
def redshift_cluster(aws_sandbox: None) -> Iterator[dict[str, Any]]:
    with mock_aws():
        redshift = boto3.client("redshift", region_name="us-east-1")
        cluster = redshift.create_cluster(
            ClusterIdentifier="test-cluster",
            NodeType="dc2.large",
            MasterUsername="testuser",
            MasterUserPassword="Test1234",
            NumberOfNodes=2,
        )["Cluster"]
        yield dict(cluster)
        redshift.delete_cluster(ClusterIdentifier="test-cluster", SkipFinalClusterSnapshot=True)


def test_generate_redshift_credentials(redshift_cluster: dict[str, Any]) -> None:
    credentials = generate_redshift_credentials("testuser", "test-cluster", 900)

    assert credentials["user"] == "IAM:testuser"
    assert credentials["host"] == redshift_cluster["Endpoint"]["Address"]
    assert credentials["port"] == redshift_cluster["Endpoint"]["Port"]
    assert credentials["dbname"] == redshift_cluster["DBName"]
    assert credentials["sslmode"] == "verify-full"
    assert credentials["password"]
    bundle = Path(credentials["sslrootcert"]).read_text()
    assert bundle.count("-----BEGIN CERTIFICATE-----") == len(AMAZON_ROOT_LABELS)
    for label in AMAZON_ROOT_LABELS:
        assert label in bundle


def test_auto_created_user_gets_the_iama_prefix(redshift_cluster: dict[str, Any]) -> None:
    credentials = generate_redshift_credentials("newuser", "test-cluster", 900, auto_create=True)
    assert credentials["user"] == "IAMA:newuser"


def test_database_given_overrides_the_clusters(redshift_cluster: dict[str, Any]) -> None:
    credentials = generate_redshift_credentials("testuser", "test-cluster", database="analytics")
    assert credentials["dbname"] == "analytics"
