"""IAM identity-based policy evaluation, as AWS documents it, for the local stack. Pure.

moto's own evaluator (``moto.iam.access_control``) matches actions only: it ignores
``Resource`` (moto passes ``*``), ``NotResource``, policy variables and condition keys, and a
statement whose condition fails counts as a *deny* there. Issue 11 needs the Redshift resource
ARNs (``dbuser:``/``dbname:``/``dbgroup:``), explicit deny and the self-service conditions,
so this module evaluates:

* ``Action`` / ``NotAction`` (case-insensitive) and ``Resource`` / ``NotResource``
  (case-sensitive), each with ``*`` and ``?`` wildcards;
* policy variables ``${aws:userid}``, ``${redshift:DbUser}``, … in resources and condition
  values (only in ``"Version": "2012-10-17"`` documents, as AWS does), with ``${*}``,
  ``${?}``, ``${$}`` for the literal characters;
* conditions: the ``String*`` and ``Arn*`` operators, ``Bool``, ``Null``, ``Numeric*``,
  each with ``…IfExists`` and the ``ForAnyValue:`` / ``ForAllValues:`` set prefixes;
* explicit ``Deny`` wins over any ``Allow``; no matching ``Allow`` is an implicit deny.

An operator it does not know never matches, so it never grants (and a ``Deny`` using it
does not apply: the stack's README says which operators exist here).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from typing import Any

ContextValue = str | Sequence[str]

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_LITERALS = {"*": "*", "?": "?", "$": "$"}


class Decision(Enum):
    ALLOW = "allow"
    IMPLICIT_DENY = "implicit deny"
    EXPLICIT_DENY = "explicit deny"


@dataclass(frozen=True)
class AuthorizationRequest:
    """One action on one resource, with the request context's condition keys."""

    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)

    def value(self, key: str) -> list[str] | None:
        """The context's values for ``key`` (keys are case-insensitive), or None if absent."""
        wanted = key.lower()
        for name, value in self.context.items():
            if name.lower() == wanted:
                return [value] if isinstance(value, str) else list(value)
        return None


def evaluate(
    documents: Iterable[str | Mapping[str, Any]], request: AuthorizationRequest
) -> Decision:
    """AWS's evaluation logic for identity-based policies of one principal."""
    allowed = False
    for document in documents:
        policy = json.loads(document) if isinstance(document, str) else document
        variables = policy.get("Version") == "2012-10-17"
        statements = policy.get("Statement", [])
        if isinstance(statements, Mapping):
            statements = [statements]
        for statement in statements:
            if not _statement_applies(statement, request, variables):
                continue
            if statement.get("Effect") == "Deny":
                return Decision.EXPLICIT_DENY
            if statement.get("Effect") == "Allow":
                allowed = True
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY


def denial_message(principal: str, request: AuthorizationRequest, decision: Decision) -> str:
    """AWS's AccessDenied text for identity-based policies."""
    head = (
        f"User: {principal} is not authorized to perform: {request.action} on resource: "
        f"{request.resource}"
    )
    if decision is Decision.EXPLICIT_DENY:
        return f"{head} with an explicit deny in an identity-based policy"
    return f"{head} because no identity-based policy allows the {request.action} action"


class Trust(Enum):
    """What a role's trust policy says about a principal assuming it."""

    NAMED = "named"  # the principal itself is trusted: no identity-based policy needed
    ACCOUNT = "account"  # its account is trusted: an identity-based policy must allow too
    DENIED = "denied"  # not trusted, or explicitly denied


def evaluate_trust(
    document: str | Mapping[str, Any],
    principal_arns: Sequence[str],
    account: str,
    request: AuthorizationRequest,
) -> Trust:
    """A role's trust (resource-based) policy for ``request.action`` by the principal whose
    ARNs (session and role, or user) are ``principal_arns``."""
    policy = json.loads(document) if isinstance(document, str) else document
    variables = policy.get("Version") == "2012-10-17"
    statements = policy.get("Statement", [])
    if isinstance(statements, Mapping):
        statements = [statements]
    trust = Trust.DENIED
    for statement in statements:
        if not any(_glob(p, request.action, True) for p in _as_list(statement.get("Action"))):
            continue
        how = _principal_match(statement.get("Principal"), principal_arns, account)
        if how is None or not _conditions_hold(
            statement.get("Condition") or {}, request, variables
        ):
            continue
        if statement.get("Effect") == "Deny":
            return Trust.DENIED
        if statement.get("Effect") == "Allow" and trust is not Trust.NAMED:
            trust = how
    return trust


def _principal_match(principal: Any, arns: Sequence[str], account: str) -> Trust | None:
    if principal == "*":
        return Trust.NAMED
    if not isinstance(principal, Mapping):
        return None
    for value in _as_list(principal.get("AWS")):
        if value == "*" or value in arns:
            return Trust.NAMED
        if value in (account, f"arn:aws:iam::{account}:root"):
            return Trust.ACCOUNT
    return None


# -- statements ---------------------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _statement_applies(
    statement: Mapping[str, Any], request: AuthorizationRequest, variables: bool
) -> bool:
    if "NotAction" in statement:
        if any(_glob(p, request.action, True) for p in _as_list(statement["NotAction"])):
            return False
    elif not any(_glob(p, request.action, True) for p in _as_list(statement.get("Action"))):
        return False
    if "NotResource" in statement:
        patterns = _as_list(statement["NotResource"])
        if any(_resource_matches(p, request, variables) for p in patterns):
            return False
    elif not any(
        _resource_matches(p, request, variables) for p in _as_list(statement.get("Resource"))
    ):
        return False
    return _conditions_hold(statement.get("Condition") or {}, request, variables)


def _resource_matches(pattern: str, request: AuthorizationRequest, variables: bool) -> bool:
    regex = _expand(pattern, request, variables, as_regex=True)
    return regex is not None and _regex_matches(regex, request.resource, ignore_case=False)


def _expand(
    text: str, request: AuthorizationRequest, variables: bool, *, as_regex: bool
) -> str | None:
    """``text`` with its policy variables replaced by the context's values; None if one is
    not in the context (such a value matches nothing). ``as_regex``: a regular expression in
    which the policy's own ``*``/``?`` are wildcards and the values are literal."""
    parts: list[str] = []
    position = 0
    matches = _VARIABLE.finditer(text) if variables else iter(())
    for match in matches:
        parts.append(
            _glob_regex(text[position : match.start()])
            if as_regex
            else text[position : match.start()]
        )
        name = match.group(1).strip()
        if name in _LITERALS:
            value = _LITERALS[name]
        else:
            values = request.value(name)
            if values is None or len(values) != 1:
                return None
            value = values[0]
        parts.append(re.escape(value) if as_regex else value)
        position = match.end()
    tail = text[position:]
    parts.append(_glob_regex(tail) if as_regex else tail)
    return "".join(parts)


def _glob_regex(text: str) -> str:
    """A glob as a regular expression: ``*`` and ``?`` are wildcards, the rest literal."""
    return "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in text
    )


def _regex_matches(regex: str, value: str, *, ignore_case: bool) -> bool:
    return _compiled(regex, ignore_case).fullmatch(value) is not None


def _glob(pattern: str, value: str, ignore_case: bool) -> bool:
    return _regex_matches(_glob_regex(pattern), value, ignore_case=ignore_case)


@lru_cache(maxsize=1024)
def _compiled(regex: str, ignore_case: bool) -> re.Pattern[str]:
    return re.compile(regex, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


# -- conditions ---------------------------------------------------------------------------

Compare = Callable[[str, list[str], AuthorizationRequest, bool], bool]


def _conditions_hold(
    conditions: Mapping[str, Any], request: AuthorizationRequest, variables: bool
) -> bool:
    """Every operator block holds; in a block, every key holds (AND); for a key, any of the
    policy's values matches (OR)."""
    for operator, keys in conditions.items():
        for key, expected in keys.items():
            if not _condition_holds(operator, key, _as_list(expected), request, variables):
                return False
    return True


def _condition_holds(
    operator: str,
    key: str,
    expected: list[Any],
    request: AuthorizationRequest,
    variables: bool,
) -> bool:
    set_operator = None
    if ":" in operator:
        set_operator, operator = operator.split(":", 1)
    if_exists = operator.endswith("IfExists")
    if if_exists:
        operator = operator[: -len("IfExists")]
    actual = request.value(key)
    if operator == "Null":
        want_absent = str(expected[0]).lower() == "true" if expected else True
        return (actual is None) == want_absent
    compare = _OPERATORS.get(operator)
    if compare is None:
        return False
    if actual is None:
        # A missing key fails a positive operator and passes a negated one (AWS's rule).
        return if_exists or operator in _NEGATED or set_operator == "ForAllValues"
    policy_values = [str(value) for value in expected]
    results = (compare(value, policy_values, request, variables) for value in actual)
    return all(results) if set_operator == "ForAllValues" else any(results)


def _like(ignore_case: bool = False) -> Compare:
    def compare(value: str, policy: list[str], request: AuthorizationRequest, var: bool) -> bool:
        regexes = (_expand(p, request, var, as_regex=True) for p in policy)
        return any(
            regex is not None and _regex_matches(regex, value, ignore_case=ignore_case)
            for regex in regexes
        )

    return compare


def _equals(ignore_case: bool = False) -> Compare:
    # Equality is literal: a '*' in the policy is a star; variables still expand.
    def compare(value: str, policy: list[str], request: AuthorizationRequest, var: bool) -> bool:
        for expanded in (_expand(p, request, var, as_regex=False) for p in policy):
            if expanded is None:
                continue
            if (expanded.lower() == value.lower()) if ignore_case else (expanded == value):
                return True
        return False

    return compare


def _not(compare: Compare) -> Compare:
    def negated(value: str, policy: list[str], request: AuthorizationRequest, var: bool) -> bool:
        return not compare(value, policy, request, var)

    return negated


def _numeric(test: Callable[[float, float], bool]) -> Compare:
    def compare(value: str, policy: list[str], _: AuthorizationRequest, __: bool) -> bool:
        try:
            return any(test(float(value), float(expected)) for expected in policy)
        except ValueError:
            return False

    return compare


def _bool(value: str, policy: list[str], _: AuthorizationRequest, __: bool) -> bool:
    return any(value.lower() == expected.lower() for expected in policy)


_OPERATORS: dict[str, Compare] = {
    "StringEquals": _equals(),
    "StringNotEquals": _not(_equals()),
    "StringEqualsIgnoreCase": _equals(ignore_case=True),
    "StringNotEqualsIgnoreCase": _not(_equals(ignore_case=True)),
    "StringLike": _like(),
    "StringNotLike": _not(_like()),
    # ARNs compare like StringLike (AWS allows wildcards in ArnEquals too).
    "ArnEquals": _like(),
    "ArnLike": _like(),
    "ArnNotEquals": _not(_like()),
    "ArnNotLike": _not(_like()),
    "Bool": _bool,
    "NumericEquals": _numeric(lambda a, b: a == b),
    "NumericNotEquals": _numeric(lambda a, b: a != b),
    "NumericLessThan": _numeric(lambda a, b: a < b),
    "NumericLessThanEquals": _numeric(lambda a, b: a <= b),
    "NumericGreaterThan": _numeric(lambda a, b: a > b),
    "NumericGreaterThanEquals": _numeric(lambda a, b: a >= b),
}
_NEGATED = frozenset(
    {
        "StringNotEquals",
        "StringNotEqualsIgnoreCase",
        "StringNotLike",
        "ArnNotEquals",
        "ArnNotLike",
        "NumericNotEquals",
    }
)
