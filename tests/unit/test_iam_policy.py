"""The local stack's IAM policy evaluator, against AWS's documented evaluation rules."""

from __future__ import annotations

from typing import Any

import pytest

from redshift_ephemeral.local.iam_policy import (
    AuthorizationRequest,
    Decision,
    Trust,
    denial_message,
    evaluate,
    evaluate_trust,
)

ARN = "arn:aws:redshift:us-east-1:123456789012"
ALICE = f"{ARN}:dbuser:demo-cluster/alice"


def policy(*statements: dict[str, Any], version: str = "2012-10-17") -> dict[str, Any]:
    return {"Version": version, "Statement": list(statements)}


def allow(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def request(
    action: str = "redshift:GetClusterCredentials", resource: str = ALICE, **context: str
) -> AuthorizationRequest:
    return AuthorizationRequest(
        action, resource, {k.replace("__", ":"): v for k, v in context.items()}
    )


def test_nothing_attached_is_an_implicit_deny() -> None:
    assert evaluate([], request()) is Decision.IMPLICIT_DENY


def test_action_and_resource_wildcards_match_and_mismatch() -> None:
    documents = [policy(allow("redshift:GetCluster*", f"{ARN}:dbuser:demo-cluster/al?ce"))]
    assert evaluate(documents, request()) is Decision.ALLOW
    assert evaluate(documents, request(resource=f"{ARN}:dbuser:demo-cluster/bob")) is (
        Decision.IMPLICIT_DENY
    )
    assert evaluate(documents, request(action="redshift:DescribeClusters")) is (
        Decision.IMPLICIT_DENY
    )


def test_actions_ignore_case_and_resources_do_not() -> None:
    documents = [policy(allow("Redshift:getclustercredentials", ALICE.upper()))]
    assert evaluate(documents, request()) is Decision.IMPLICIT_DENY
    documents = [policy(allow("Redshift:getclustercredentials", ALICE))]
    assert evaluate(documents, request()) is Decision.ALLOW


def test_regex_characters_in_a_pattern_are_literal() -> None:
    documents = [
        policy(allow("redshift:GetClusterCredentials", f"{ARN}:dbuser:demo-cluster/a.ice"))
    ]
    assert evaluate(documents, request()) is Decision.IMPLICIT_DENY


def test_explicit_deny_wins_over_any_allow_in_any_document() -> None:
    documents = [
        policy(allow("*", "*")),
        policy({"Effect": "Deny", "Action": "redshift:*", "Resource": f"{ARN}:dbuser:*"}),
    ]
    assert evaluate(documents, request()) is Decision.EXPLICIT_DENY
    assert evaluate(documents, request(resource=f"{ARN}:dbname:demo-cluster/dev")) is (
        Decision.ALLOW
    )


def test_not_action_and_not_resource() -> None:
    documents = [
        policy({"Effect": "Allow", "NotAction": "iam:*", "NotResource": f"{ARN}:dbuser:*/admin"})
    ]
    assert evaluate(documents, request()) is Decision.ALLOW
    assert evaluate(documents, request(action="iam:CreateUser")) is Decision.IMPLICIT_DENY
    assert evaluate(documents, request(resource=f"{ARN}:dbuser:demo-cluster/admin")) is (
        Decision.IMPLICIT_DENY
    )


def test_a_single_statement_object_and_string_documents_are_accepted() -> None:
    document = (
        '{"Version": "2012-10-17", '
        '"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}'
    )
    assert evaluate([document], request()) is Decision.ALLOW


def test_policy_variable_in_resource_expands_from_the_context() -> None:
    documents = [
        policy(
            allow("redshift:GetClusterCredentials", f"{ARN}:dbuser:demo-cluster/${{aws:username}}")
        )
    ]
    assert evaluate(documents, request(aws__username="alice")) is Decision.ALLOW
    assert evaluate(documents, request(aws__username="bob")) is Decision.IMPLICIT_DENY
    assert evaluate(documents, request()) is Decision.IMPLICIT_DENY  # variable absent


def test_policy_variables_are_literal_in_the_2008_version() -> None:
    documents = [
        policy(
            allow("redshift:GetClusterCredentials", f"{ARN}:dbuser:demo-cluster/${{aws:username}}"),
            version="2008-10-17",
        )
    ]
    assert evaluate(documents, request(aws__username="alice")) is Decision.IMPLICIT_DENY


def test_a_star_in_a_variable_value_is_not_a_wildcard() -> None:
    documents = [
        policy(
            allow("redshift:GetClusterCredentials", f"{ARN}:dbuser:demo-cluster/${{aws:username}}")
        )
    ]
    assert evaluate(documents, request(aws__username="*")) is Decision.IMPLICIT_DENY


def test_self_service_condition_ties_the_db_user_to_the_session_name() -> None:
    documents = [
        policy(
            allow(
                "redshift:GetClusterCredentials",
                f"{ARN}:dbuser:demo-cluster/${{redshift:DbUser}}",
                Condition={"StringEquals": {"aws:userid": "AROAEXAMPLE:${redshift:DbUser}"}},
            )
        )
    ]
    own = request(aws__userid="AROAEXAMPLE:alice", redshift__DbUser="alice")
    assert evaluate(documents, own) is Decision.ALLOW
    other = request(
        resource=f"{ARN}:dbuser:demo-cluster/bob",
        aws__userid="AROAEXAMPLE:alice",
        redshift__DbUser="bob",
    )
    assert evaluate(documents, other) is Decision.IMPLICIT_DENY
    another_role = request(aws__userid="AROAOTHER:alice", redshift__DbUser="alice")
    assert evaluate(documents, another_role) is Decision.IMPLICIT_DENY


def test_condition_keys_are_case_insensitive_and_values_are_not() -> None:
    documents = [policy(allow("*", "*", Condition={"StringEquals": {"REDSHIFT:dbuser": "alice"}}))]
    assert evaluate(documents, request(redshift__DbUser="alice")) is Decision.ALLOW
    assert evaluate(documents, request(redshift__DbUser="Alice")) is Decision.IMPLICIT_DENY


@pytest.mark.parametrize(
    ("operator", "expected", "value", "holds"),
    [
        ("StringLike", "al*", "alice", True),
        ("StringLike", "al*", "bob", False),
        ("StringNotLike", "al*", "bob", True),
        ("StringEquals", "al*", "alice", False),  # equality is literal
        ("StringEqualsIgnoreCase", "ALICE", "alice", True),
        ("StringNotEquals", "alice", "bob", True),
        ("NumericLessThanEquals", "1800", "900", True),
        ("NumericLessThanEquals", "1800", "3600", False),
        ("Bool", "true", "true", True),
        ("DateGreaterThan", "2020-01-01", "2024-01-01", False),  # unknown here: never matches
    ],
)
def test_condition_operators(operator: str, expected: str, value: str, holds: bool) -> None:
    documents = [policy(allow("*", "*", Condition={operator: {"redshift:DbUser": expected}}))]
    decision = evaluate(documents, request(redshift__DbUser=value))
    assert (decision is Decision.ALLOW) is holds


def test_a_missing_key_fails_positive_operators_and_passes_negated_and_if_exists() -> None:
    def decide(condition: dict[str, Any]) -> Decision:
        return evaluate([policy(allow("*", "*", Condition=condition))], request())

    assert decide({"StringEquals": {"redshift:DbName": "dev"}}) is Decision.IMPLICIT_DENY
    assert decide({"StringNotEquals": {"redshift:DbName": "dev"}}) is Decision.ALLOW
    assert decide({"StringEqualsIfExists": {"redshift:DbName": "dev"}}) is Decision.ALLOW
    assert decide({"Null": {"redshift:DbName": "true"}}) is Decision.ALLOW
    assert decide({"Null": {"redshift:DbName": "false"}}) is Decision.IMPLICIT_DENY


def test_a_deny_whose_condition_fails_does_not_apply() -> None:
    documents = [
        policy(
            allow("*", "*"),
            {
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"StringEquals": {"redshift:DbUser": "admin"}},
            },
        )
    ]
    assert evaluate(documents, request(redshift__DbUser="alice")) is Decision.ALLOW
    assert evaluate(documents, request(redshift__DbUser="admin")) is Decision.EXPLICIT_DENY


def test_denial_messages_have_aws_wording() -> None:
    denied = request()
    principal = "arn:aws:iam::123456789012:user/alice"
    assert denial_message(principal, denied, Decision.IMPLICIT_DENY) == (
        f"User: {principal} is not authorized to perform: redshift:GetClusterCredentials on "
        f"resource: {ALICE} because no identity-based policy allows the "
        "redshift:GetClusterCredentials action"
    )
    assert denial_message(principal, denied, Decision.EXPLICIT_DENY) == (
        f"User: {principal} is not authorized to perform: redshift:GetClusterCredentials on "
        f"resource: {ALICE} with an explicit deny in an identity-based policy"
    )


def test_trust_policy_naming_the_account_needs_an_identity_policy_too() -> None:
    role = "arn:aws:iam::123456789012:role/reader"
    assume = AuthorizationRequest("sts:AssumeRole", role, {})
    user = "arn:aws:iam::123456789012:user/alice"

    def trust(principal: Any) -> Trust:
        document = policy({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"})
        return evaluate_trust(document, [user], "123456789012", assume)

    assert trust({"AWS": "arn:aws:iam::123456789012:root"}) is Trust.ACCOUNT
    assert trust({"AWS": user}) is Trust.NAMED
    assert trust({"AWS": ["arn:aws:iam::123456789012:user/bob"]}) is Trust.DENIED
    assert trust({"Service": "ec2.amazonaws.com"}) is Trust.DENIED
