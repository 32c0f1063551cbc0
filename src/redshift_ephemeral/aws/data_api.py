"""The Redshift Data API (``redshift-data``) as the DB-API driver needs it
(``db/data_api``): submit, describe, page through results, cancel - botocore's errors in
this library's words, so nothing above this module sees botocore.

The target and mode are the credential request's own: a provisioned cluster with a
database user (the service calls GetClusterCredentials for the caller), a cluster with the
caller's IAM identity (GetClusterCredentialsWithIAM), or a serverless workgroup
(GetCredentials). No password exists on this path at all.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ..errors import AwsError, ConfigurationError, RedshiftEphemeralError
from ..targets import DATA_API_DEFAULT_DATABASE, CredentialRequest, Deployment
from .errors import aws_error_from
from .issuers import issuer_for

if TYPE_CHECKING:
    from mypy_boto3_redshift_data import RedshiftDataAPIServiceClient

    from .identity import AwsIdentity

DEFAULT_DATABASE = DATA_API_DEFAULT_DATABASE


_SESSION_GONE = ("Session is not available", "is invalid", "not found")
"""How AWS says a session is gone ("Session is not available", "Session with Id ... is
invalid"); "Session is busy" and the like are errors, not a reason to start a new session."""


class SessionGoneError(AwsError):
    """AWS no longer has the session (it lapsed, was reclaimed, or never existed): the
    statement did not run, and may be submitted again in a new session."""


class ActiveStatementsExceededError(AwsError):
    """Too many statements are running on the cluster or workgroup at once."""


@dataclass(frozen=True)
class DataApiTarget:
    """Where statements run and as whom: ``ClusterIdentifier`` (+ ``DbUser``) or
    ``WorkgroupName``, and ``Database``."""

    cluster_id: str | None
    workgroup: str | None
    database: str
    db_user: str | None
    region: str | None

    @classmethod
    def of(cls, request: CredentialRequest) -> DataApiTarget:
        """The Data API's target for a credential request, refused (before any call) where
        the Data API cannot honour it."""
        target = request.target
        if target.name is None:
            raise ConfigurationError(
                "The Data API needs the cluster identifier or workgroup name, not a custom "
                "domain: give --cluster-id or --workgroup."
            )
        if request.db_groups or request.auto_create:
            raise ConfigurationError(
                "The Data API takes no database groups or auto-create (its credential call "
                "has no such parameters): drop them, or grant the user's privileges directly."
            )
        serverless = target.deployment is Deployment.SERVERLESS
        return cls(
            cluster_id=None if serverless else target.name,
            workgroup=target.name if serverless else None,
            database=request.db_name or DEFAULT_DATABASE,
            db_user=request.db_user,
            region=target.region,
        )

    @property
    def label(self) -> str:
        where = f"cluster {self.cluster_id}" if self.cluster_id else f"workgroup {self.workgroup}"
        return f"{where}, database {self.database}"

    def parameters(self) -> dict[str, str]:
        parameters = {"Database": self.database}
        if self.cluster_id is not None:
            parameters["ClusterIdentifier"] = self.cluster_id
            if self.db_user is not None:
                parameters["DbUser"] = self.db_user
        else:
            assert self.workgroup is not None
            parameters["WorkgroupName"] = self.workgroup
        return parameters


@dataclass(frozen=True)
class Submitted:
    statement_id: str
    session_id: str | None


class DataApiClient:
    """One identity's ``redshift-data`` client (shared with its credential calls' session),
    aimed at one target."""

    def __init__(self, identity: AwsIdentity, target: DataApiTarget):
        self.target = target
        self._clients = issuer_for(identity).clients
        self._region = target.region

    @property
    def _client(self) -> RedshiftDataAPIServiceClient:
        return self._clients.redshift_data(self._region)

    def submit(
        self,
        sqls: Sequence[str],
        parameters: Mapping[str, str],
        *,
        session_id: str | None,
        keep_alive_seconds: int | None,
        result_format: str,
    ) -> Submitted:
        """ExecuteStatement (one statement) or BatchExecuteStatement (several, one
        transaction), in ``session_id``, or in a new session kept ``keep_alive_seconds``."""
        args: dict[str, Any] = {"ResultFormat": result_format}
        if parameters:
            args["Parameters"] = [
                {"name": name, "value": value} for name, value in parameters.items()
            ]
        if session_id is not None:
            args["SessionId"] = session_id
        else:
            args.update(self.target.parameters())
            if keep_alive_seconds:
                args["SessionKeepAliveSeconds"] = keep_alive_seconds
        batch = len(sqls) > 1
        operation = "BatchExecuteStatement" if batch else "ExecuteStatement"
        try:
            if batch:
                response: Mapping[str, Any] = self._client.batch_execute_statement(
                    Sqls=list(sqls), **args
                )
            else:
                response = self._client.execute_statement(Sql=sqls[0], **args)
        except Exception as error:
            failure = self._error(error, operation, session_id=session_id)
        else:
            return Submitted(str(response["Id"]), response.get("SessionId"))
        raise failure

    def describe(self, statement_id: str) -> Mapping[str, Any]:
        try:
            return self._client.describe_statement(Id=statement_id)
        except Exception as error:
            failure = self._error(error, "DescribeStatement")
        raise failure

    def cancel(self, statement_id: str) -> bool:
        """CancelStatement; False if the statement had already ended."""
        try:
            return bool(self._client.cancel_statement(Id=statement_id).get("Status"))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ValidationException":
                return False
            failure = self._error(error, "CancelStatement")
        except Exception as error:
            failure = self._error(error, "CancelStatement")
        raise failure

    def result_pages(self, statement_id: str, *, csv: bool) -> Iterator[Mapping[str, Any]]:
        """The result's pages, one at a time, as botocore's paginator fetches them (never
        more than one page held here)."""
        operation = "GetStatementResultV2" if csv else "GetStatementResult"
        paginator = self._client.get_paginator(
            "get_statement_result_v2" if csv else "get_statement_result"
        )
        pages = iter(paginator.paginate(Id=statement_id))
        while True:
            try:
                page = next(pages)
            except StopIteration:
                return
            except Exception as error:
                failure = self._error(error, operation)
                raise failure from None
            yield page

    def _error(
        self, error: Exception, operation: str, *, session_id: str | None = None
    ) -> RedshiftEphemeralError:
        """botocore's exception in this library's words (the Data API's codes first)."""
        if isinstance(error, ClientError):
            details = error.response.get("Error", {})
            code, message = str(details.get("Code", "")), str(details.get("Message", ""))
            if (
                session_id is not None
                and code == "ValidationException"
                and any(sign in message for sign in _SESSION_GONE)
            ):
                return SessionGoneError(
                    f"Data API session {session_id} is not available ({message}).",
                    code=code,
                    operation=operation,
                )
            if code == "ActiveStatementsExceededException":
                return ActiveStatementsExceededError(
                    f"Too many statements are running on the {self.target.label} ({message}). "
                    "Wait for some to finish, or run fewer at once.",
                    code=code,
                    operation=operation,
                )
            if code in ("ValidationException", "ResourceNotFoundException") and (
                operation not in ("ExecuteStatement", "BatchExecuteStatement")
            ):
                return AwsError(
                    f"The Data API refused {operation}: {message}", code=code, operation=operation
                )
            if code == "ValidationException":
                return ConfigurationError(
                    f"The Data API refused the statement for the {self.target.label}: {message}"
                )
        return aws_error_from(
            error,
            action=f"redshift-data:{operation}",
            target_label=self.target.label,
            region=self._clients.region(self._region),
        )
