"""Handlers of the Redshift Data API (``redshift-data``, JSON protocol), which moto does not
implement: ExecuteStatement, BatchExecuteStatement, DescribeStatement, GetStatementResult,
GetStatementResultV2, CancelStatement, ListStatements and ListSessions.

Statements run on the real PostgreSQL server (``statements.py``) as the login the caller's
IAM identity maps to, with the database privileges that login has - so ``bob`` cannot read
``my_table`` here either. What each call authorises, as AWS's Data API documents it:

* ExecuteStatement / BatchExecuteStatement: ``redshift-data:<operation>`` on the cluster or
  workgroup ARN, and the credential call the service makes on the caller's behalf -
  ``redshift:GetClusterCredentials`` on the ``dbuser`` and ``dbname`` (with ``DbUser``),
  ``redshift:GetClusterCredentialsWithIAM`` on the ``dbname`` (a cluster without one),
  ``redshift-serverless:GetCredentials`` on the workgroup;
* the others: ``redshift-data:<operation>`` on ``*`` with the condition key
  ``redshift-data:statement-owner-iam-userid`` (or ``session-owner-iam-userid``), and a
  caller sees only statements and sessions of its own IAM identity.

Secrets Manager (``SecretArn``) is not emulated: the local stack holds no stored password.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable
from typing import Any

from ...sql_text import placeholders, substitute
from ..roles import RoleKind
from ..statements import (
    DONE,
    Part,
    Statement,
    StatementRefused,
    Statements,
    is_signed,
    is_text,
    part_ids,
)
from . import validation
from .auth import Auth
from .calls import ACCOUNT_ID, Call, Handler
from .faults import AwsFault
from .knobs import Knobs
from .logins import Logins, login_name_for

SERVICE = "redshift-data"
PAGE_BYTES = 64 * 1024
"""AWS does not document its page size; pages here hold about 64 KiB of values (a row is at
most 64 KB), so clients meet pagination on modest results."""
MAX_SQL_BYTES = 100 * 1024
MAX_BATCH_SQLS = 40
MAX_WAIT_SECONDS = 30
_LIST_LIMIT = 100

ClusterExists = Callable[[str, str], bool]  # (region, cluster id)
WorkgroupArn = Callable[[str, str], str | None]  # (region, name) → ARN, None if unknown


def _validation(message: str) -> AwsFault:
    return AwsFault("ValidationException", message)


def _not_found(message: str) -> AwsFault:
    return AwsFault("ResourceNotFoundException", message)


class RedshiftDataHandlers:
    def __init__(
        self,
        auth: Auth,
        logins: Logins,
        statements: Statements,
        *,
        cluster_exists: ClusterExists,
        workgroup_arn: WorkgroupArn,
    ):
        self._auth = auth
        self._logins = logins
        self._statements = statements
        self._cluster_exists = cluster_exists
        self._workgroup_arn = workgroup_arn

    def operations(self) -> dict[str, Handler]:
        return {
            "ExecuteStatement": self.execute_statement,
            "BatchExecuteStatement": self.batch_execute_statement,
            "DescribeStatement": self.describe_statement,
            "GetStatementResult": self.get_statement_result,
            "GetStatementResultV2": self.get_statement_result_v2,
            "CancelStatement": self.cancel_statement,
            "ListStatements": self.list_statements,
            "ListSessions": self.list_sessions,
        }

    # -- running ---------------------------------------------------------------------------

    def execute_statement(self, call: Call, knobs: Knobs) -> dict[str, Any]:
        sql = call.params.get("Sql")
        if not isinstance(sql, str) or not sql.strip():
            raise _validation("Sql is required.")
        return self._submit(call, knobs, [sql], batch=False)

    def batch_execute_statement(self, call: Call, knobs: Knobs) -> dict[str, Any]:
        sqls = call.params.get("Sqls")
        if not isinstance(sqls, list) or not sqls:
            raise _validation("Sqls is required.")
        if len(sqls) > MAX_BATCH_SQLS:
            raise _validation(
                f"Sqls has {len(sqls)} statements; a batch holds at most {MAX_BATCH_SQLS}."
            )
        if not all(isinstance(sql, str) and sql.strip() for sql in sqls):
            raise _validation("Every item of Sqls must be a non-empty SQL statement.")
        return self._submit(call, knobs, sqls, batch=True)

    def _submit(self, call: Call, knobs: Knobs, sqls: list[str], *, batch: bool) -> dict[str, Any]:
        p = call.params
        if p.get("SecretArn"):
            raise _validation(
                "SecretArn is not supported by the local stack: use temporary credentials "
                "(ClusterIdentifier with or without DbUser, or WorkgroupName)."
            )
        for sql in sqls:
            if len(sql.encode()) > MAX_SQL_BYTES:
                raise _validation("The SQL statement exceeds the maximum size of 100 KB.")
        parameters = _parameters(p.get("Parameters"))
        texts = [_bind(sql, parameters) for sql in sqls]
        _check_all_used(sqls, parameters)
        result_format = p.get("ResultFormat") or "JSON"
        if result_format not in ("JSON", "CSV"):
            raise _validation("ResultFormat must be JSON or CSV.")
        keep_alive = p.get("SessionKeepAliveSeconds")
        if keep_alive is not None and (
            not isinstance(keep_alive, int) or not 0 <= keep_alive <= 86400
        ):
            raise _validation("SessionKeepAliveSeconds must be between 0 and 86400.")
        session_id = p.get("SessionId")
        if session_id is not None:
            named = [
                name
                for name in ("ClusterIdentifier", "WorkgroupName", "Database", "DbUser")
                if p.get(name)
            ]
            if named:
                raise _validation(
                    f"{', '.join(named)} cannot be specified with SessionId: a session "
                    "keeps the target, database and user it was created with."
                )
            # AWS's resource for a statement in a session: the session, owned by an IAM id.
            session = self._statements.session(str(session_id))
            owner = session.owner_user_id if session is not None else call.caller.user_id
            self._auth.authorize(
                call,
                call.action,
                f"arn:aws:redshift-data:{call.region}:{ACCOUNT_ID}:session:{session_id}",
                {"redshift-data:session-owner-iam-userid": owner},
            )
            target_kind = target = database = login = ""
        else:
            target_kind, target, database, login = self._authorize_target(call)
        statement = Statement(
            id=str(uuid.uuid4()),
            owner_arn=call.caller.arn,
            owner_principal=call.caller.principal_arn,
            owner_user_id=call.caller.user_id,
            target_kind=target_kind,
            target=target,
            database=database,
            login=login,
            parts=[Part(text) for text in texts],
            is_batch=batch,
            transaction=p.get("ExecutionMode", "TRANSACTION") != "AUTO_COMMIT",
            result_format=result_format,
            name=p.get("StatementName"),
            parameters=p.get("Parameters"),
            session_id=session_id,
        )
        try:
            self._statements.submit(
                statement,
                keep_alive_seconds=keep_alive if session_id is None and keep_alive else None,
                time_scale=knobs.time_scale,
                queue_seconds=knobs.statement_seconds,
            )
        except StatementRefused as refused:
            raise AwsFault(refused.code, refused.message) from None
        _wait(statement, p.get("WaitTimeSeconds"))
        result: dict[str, Any] = {
            "Id": statement.id,
            "CreatedAt": statement.created_at.timestamp(),
            "Database": statement.database,
            "DbUser": statement.login,
            "SessionId": statement.session_id,
            "DbGroups": [],
        }
        result.update(_target_fields(statement))
        if p.get("WaitTimeSeconds"):
            result["Status"] = statement.status
            result["HasResultSet"] = any(part.columns is not None for part in statement.parts)
        return {key: value for key, value in result.items() if value is not None}

    def _authorize_target(self, call: Call) -> tuple[str, str, str, str]:
        """The target, database and login of a sessionless run, once the caller may."""
        p, region = call.params, call.region
        cluster, workgroup = p.get("ClusterIdentifier"), p.get("WorkgroupName")
        if bool(cluster) == bool(workgroup):
            raise _validation("Specify either ClusterIdentifier or WorkgroupName, not both.")
        database = validation.db_name(SERVICE, p.get("Database"), "Database")
        if database is None:
            raise _validation("Database is required.")
        db_user = p.get("DbUser")
        prefix = f"arn:aws:redshift:{region}:{ACCOUNT_ID}"
        if workgroup:
            if db_user:
                raise _validation(
                    "DbUser cannot be specified with WorkgroupName: a serverless login is "
                    "the caller's IAM identity."
                )
            name = str(workgroup).rsplit("/", 1)[-1] if str(workgroup).startswith("arn:") else ""
            name = name or str(workgroup)
            arn = self._workgroup_arn(region, name)
            resource = arn or f"arn:aws:redshift-serverless:{region}:{ACCOUNT_ID}:workgroup/{name}"
            self._auth.authorize(call, call.action, resource)
            self._auth.authorize(
                call,
                "redshift-serverless:GetCredentials",
                resource,
                {"redshift-serverless:DbName": database},
            )
            if arn is None:
                raise _not_found(f"Workgroup {name} not found.")
            self._logins.require_database(SERVICE, database)
            login = login_name_for(call.caller.arn)
            self._logins.prepare(login, login.split(":", 1)[1], ())
            return "workgroup", name, database, login
        cluster_id = str(cluster)
        self._auth.authorize(call, call.action, f"{prefix}:cluster:{cluster_id}")
        dbname_arn = f"{prefix}:dbname:{cluster_id}/{database}"
        context = {"redshift:DbName": database}
        if db_user:
            user = validation.db_user(SERVICE, db_user)
            context["redshift:DbUser"] = user
            for resource in (f"{prefix}:dbuser:{cluster_id}/{user}", dbname_arn):
                self._auth.authorize(call, "redshift:GetClusterCredentials", resource, context)
        else:
            self._auth.authorize(call, "redshift:GetClusterCredentialsWithIAM", dbname_arn, context)
        if not self._cluster_exists(region, cluster_id):
            raise _not_found(f"Cluster {cluster_id} not found.")
        self._logins.require_database(SERVICE, database)
        if db_user:
            login = f"IAM:{user}"
            # A DbUser that is not a database user gets no login role: the run then fails
            # at login, as on Redshift.
            if self._logins.roles.kind_of(user) is RoleKind.USER:
                self._logins.prepare(login, user, ())
        else:
            login = login_name_for(call.caller.arn)
            self._logins.prepare(login, login.split(":", 1)[1], ())
        return "cluster", cluster_id, database, login

    # -- reading ---------------------------------------------------------------------------

    def describe_statement(self, call: Call, knobs: Knobs) -> dict[str, Any]:
        statement, index = self._owned(call, knobs)
        _wait(statement, call.params.get("WaitTimeSeconds"))
        if index is not None:
            part = statement.parts[index]
            return _part_fields(statement, part, index)
        result: dict[str, Any] = {
            "Id": statement.id,
            "DbUser": statement.login,
            "Database": statement.database,
            "Duration": statement.duration_ns if statement.status in DONE else -1,
            "Error": statement.error,
            "Status": statement.status,
            "CreatedAt": statement.created_at.timestamp(),
            "UpdatedAt": statement.updated_at.timestamp(),
            "RedshiftPid": statement.redshift_pid,
            "HasResultSet": any(part.columns is not None for part in statement.parts),
            "ResultFormat": statement.result_format,
            "SessionId": statement.session_id,
            "QueryParameters": statement.parameters,
        }
        result.update(_target_fields(statement))
        if statement.is_batch:
            result["SubStatements"] = [
                _part_fields(statement, part, i) for i, part in enumerate(statement.parts)
            ]
            result["ExecutionMode"] = "TRANSACTION" if statement.transaction else "AUTO_COMMIT"
        else:
            part = statement.parts[0]
            result["QueryString"] = part.sql
            result["ResultRows"] = part.result_rows
            result["ResultSize"] = part.result_size
        return {key: value for key, value in result.items() if value is not None}

    def get_statement_result(self, call: Call, knobs: Knobs) -> dict[str, Any]:
        return self._result(call, knobs, "JSON")

    def get_statement_result_v2(self, call: Call, knobs: Knobs) -> dict[str, Any]:
        return self._result(call, knobs, "CSV")

    def _result(self, call: Call, knobs: Knobs, result_format: str) -> dict[str, Any]:
        statement, index = self._owned(call, knobs)
        _wait(statement, call.params.get("WaitTimeSeconds"))
        if statement.is_batch and index is None:
            raise _validation(
                "This is a batch: fetch each statement's result by its own Id "
                f"({statement.id}:1, {statement.id}:2, ...)."
            )
        part = statement.parts[index or 0]
        if part.status != "FINISHED":
            raise _not_found(
                f"Query does not have result. Please check query status with "
                f"DescribeStatement. (status: {part.status})"
            )
        if part.columns is None:
            raise _not_found("Query does not have result.")
        if statement.result_format != result_format:
            other = (
                "GetStatementResult"
                if statement.result_format == "JSON"
                else ("GetStatementResultV2")
            )
            raise _validation(
                f"The statement's ResultFormat is {statement.result_format}: fetch its result "
                f"with {other}."
            )
        start = _offset(call.params.get("NextToken"), statement.id)
        end, size = start, 0
        while end < len(part.rows) and (end == start or size < PAGE_BYTES):
            size += sum(len(str(value)) for value in part.rows[end] if value is not None)
            end += 1
        page = part.rows[start:end]
        result: dict[str, Any] = {
            "ColumnMetadata": _column_metadata(part),
            "TotalNumRows": len(part.rows),
        }
        if result_format == "JSON":
            result["Records"] = [[_field(value) for value in row] for row in page]
        else:
            header = start == 0
            result["Records"] = (
                [{"CSVRecords": _csv(part, page, header=header)}] if (page or header) else []
            )
            result["ResultFormat"] = "CSV"
        if end < len(part.rows):
            result["NextToken"] = _token(end, statement.id)
        return result

    def cancel_statement(self, call: Call, knobs: Knobs) -> dict[str, Any]:
        statement, _ = self._owned(call, knobs)
        try:
            self._statements.cancel(statement)
        except StatementRefused as refused:
            raise AwsFault(refused.code, refused.message) from None
        return {"Status": True}

    def list_statements(self, call: Call, knobs: Knobs) -> dict[str, Any]:
        p = call.params
        self._auth.authorize(
            call,
            call.action,
            "*",
            {"redshift-data:statement-owner-iam-userid": call.caller.user_id},
        )
        status = p.get("Status", "ALL")
        prefix = p.get("StatementName")
        role_level = p.get("RoleLevel", True)
        chosen = [
            statement
            for statement in self._statements.statements_of(call.caller.principal_arn)
            if self._may_see(call, statement)
            and (role_level or statement.owner_arn == call.caller.arn)
            and status in ("ALL", statement.status)
            and (not prefix or (statement.name or "").startswith(prefix))
            and p.get("ClusterIdentifier") in (None, statement.target)
            and p.get("WorkgroupName") in (None, statement.target)
            and p.get("Database") in (None, statement.database)
        ]
        page, token = _paged(chosen, p, "statements")
        result: dict[str, Any] = {
            "Statements": [
                {
                    key: value
                    for key, value in {
                        "Id": statement.id,
                        "QueryString": None if statement.is_batch else statement.parts[0].sql,
                        "QueryStrings": [part.sql for part in statement.parts]
                        if statement.is_batch
                        else None,
                        "Status": statement.status,
                        "StatementName": statement.name,
                        "CreatedAt": statement.created_at.timestamp(),
                        "UpdatedAt": statement.updated_at.timestamp(),
                        "QueryParameters": statement.parameters,
                        "IsBatchStatement": statement.is_batch,
                        "ResultFormat": statement.result_format,
                        "SessionId": statement.session_id,
                    }.items()
                    if value is not None
                }
                for statement in page
            ]
        }
        if token:
            result["NextToken"] = token
        return result

    def list_sessions(self, call: Call, knobs: Knobs) -> dict[str, Any]:
        p = call.params
        self._auth.authorize(
            call,
            call.action,
            "*",
            {"redshift-data:session-owner-iam-userid": call.caller.user_id},
        )
        session_id = p.get("SessionId")
        mine = self._statements.sessions_of(call.caller.principal_arn)
        if session_id is not None:
            if any(p.get(name) for name in ("Status", "ClusterIdentifier", "WorkgroupName")):
                raise _validation(
                    "Status, ClusterIdentifier, WorkgroupName and Database cannot be "
                    "specified with SessionId."
                )
            chosen = [session for session in mine if session.id == session_id]
            if not chosen:
                raise _not_found(f"Session {session_id} does not exist.")
        else:
            wanted = (p["Status"],) if p.get("Status") else ("AVAILABLE", "BUSY")
            chosen = [
                session
                for session in mine
                if session.status in wanted
                and p.get("ClusterIdentifier") in (None, session.target)
                and p.get("WorkgroupName") in (None, session.target)
                and p.get("Database") in (None, session.database)
            ]
        page, token = _paged(chosen, p, "sessions")
        sessions = []
        for session in page:
            fields: dict[str, Any] = {
                "SessionId": session.id,
                "Status": session.status,
                "CreatedAt": session.created_at.timestamp(),
                "UpdatedAt": session.updated_at.timestamp(),
                "Database": session.database,
                "DbUser": session.login,
                "SessionAliveSeconds": session.keep_alive_seconds,
                "SessionTtl": session.expires_at.timestamp() if session.expires_at else None,
                "CurrentStatementId": session.current_statement,
            }
            fields["ClusterIdentifier" if session.target_kind == "cluster" else "WorkgroupName"] = (
                session.target
            )
            sessions.append({key: value for key, value in fields.items() if value is not None})
        result: dict[str, Any] = {"Sessions": sessions}
        if token:
            result["NextToken"] = token
        return result

    # -- helpers ---------------------------------------------------------------------------

    def _may_see(self, call: Call, statement: Statement) -> bool:
        """Whether the caller's policy lets it see ``statement`` (its owner condition)."""
        try:
            self._auth.authorize(
                call,
                call.action,
                "*",
                {"redshift-data:statement-owner-iam-userid": statement.owner_user_id},
            )
        except AwsFault:
            return False
        return True

    def _owned(self, call: Call, knobs: Knobs) -> tuple[Statement, int | None]:
        """The caller's statement named by ``Id`` and, for ``<id>:<n>``, the part's index."""
        statement_id = call.params.get("Id")
        if not isinstance(statement_id, str) or not statement_id:
            raise _validation("Id is required.")
        statement = self._statements.get(statement_id, knobs.time_scale)
        # The condition key is the statement's owner, as in AWS: a policy that limits a role's
        # sessions to their own statements (``${aws:userid}``) keeps one session out of
        # another's, though both are the same principal.
        owner = statement.owner_user_id if statement is not None else call.caller.user_id
        self._auth.authorize(
            call, call.action, "*", {"redshift-data:statement-owner-iam-userid": owner}
        )
        if statement is None or statement.owner_principal != call.caller.principal_arn:
            raise _not_found("Query does not exist.")
        index = None
        if ":" in statement_id:
            suffix = statement_id.split(":", 1)[1]
            if not statement.is_batch or not suffix.isdigit():
                raise _not_found("Query does not exist.")
            index = int(suffix) - 1
            if not 0 <= index < len(statement.parts):
                raise _not_found("Query does not exist.")
        return statement, index


def _parameters(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, list) or not value:
        raise _validation("Parameters must be a non-empty list of {name, value}.")
    parameters: dict[str, str] = {}
    for item in value:
        name = item.get("name") if isinstance(item, dict) else None
        text = item.get("value") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name.replace("_", "a").isalnum():
            raise _validation("Each parameter needs a name of letters, digits and underscores.")
        if not isinstance(text, str) or not text:
            raise _validation(f"Parameter {name} needs a non-empty string value.")
        if name in parameters:
            raise _validation(f"Parameter {name} is given more than once.")
        parameters[name] = text
    return parameters


def _bind(sql: str, parameters: dict[str, str]) -> str:
    """``:name`` → the value as a string literal, which PostgreSQL converts to the type the
    context needs, as Redshift "implicitly converts" the Data API's string values."""

    def literal(name: str) -> str:
        if name not in parameters:
            raise _validation(f"The SQL refers to parameter :{name}, which was not given.")
        # An E'' literal, backslashes escaped too: the same text whatever the session's
        # standard_conforming_strings says.
        value = parameters[name].replace("\\", "\\\\").replace("'", "''")
        return "E'" + value + "'"

    return substitute(sql, literal)


def _check_all_used(sqls: list[str], parameters: dict[str, str]) -> None:
    used = {placeholder.name for sql in sqls for placeholder in placeholders(sql)}
    unused = sorted(set(parameters) - used)
    if unused:
        raise _validation(
            f"Parameter {unused[0]} is not referenced by the SQL: every given parameter must be."
        )


def _wait(statement: Statement, seconds: Any) -> None:
    if isinstance(seconds, int) and seconds > 0:
        statement.done.wait(min(seconds, MAX_WAIT_SECONDS))


def _target_fields(statement: Statement) -> dict[str, Any]:
    if not statement.target:
        return {}
    key = "ClusterIdentifier" if statement.target_kind == "cluster" else "WorkgroupName"
    return {key: statement.target}


def _part_fields(statement: Statement, part: Part, index: int) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "Id": part_ids(statement)[index],
        "Duration": part.duration_ns if part.status in DONE else -1,
        "Error": part.error,
        "Status": part.status,
        "CreatedAt": part.created_at.timestamp(),
        "UpdatedAt": part.updated_at.timestamp(),
        "QueryString": part.sql,
        "ResultRows": part.result_rows,
        "ResultSize": part.result_size,
        "HasResultSet": part.columns is not None,
    }
    return {key: value for key, value in fields.items() if value is not None}


def _column_metadata(part: Part) -> list[dict[str, Any]]:
    assert part.columns is not None
    return [
        {
            "name": column.name,
            "label": column.name,
            "typeName": column.type_name,
            "precision": column.precision,
            "scale": column.scale,
            "nullable": 2,  # columnNullableUnknown, as for computed columns
            "isSigned": is_signed(column),
            "isCaseSensitive": is_text(column),
            "isCurrency": False,
            "length": 0,
            "schemaName": "",
            "tableName": "",
        }
        for column in part.columns
    ]


def _field(value: Any) -> dict[str, Any]:
    if value is None:
        return {"isNull": True}
    if isinstance(value, bool):
        return {"booleanValue": value}
    if isinstance(value, int):
        return {"longValue": value}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, bytes):
        return {"blobValue": base64.b64encode(value).decode()}
    return {"stringValue": str(value)}


def _csv(part: Part, rows: list[tuple[Any, ...]], *, header: bool) -> str:
    """RFC 4180 text: the column names first on the first page; NULL as an empty field, an
    empty string as ``""``."""
    assert part.columns is not None
    lines = [",".join(_csv_text(column.name) for column in part.columns)] if header else []
    lines += [",".join(_csv_value(value) for value in row) for row in rows]
    return "".join(line + "\n" for line in lines)


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return "\\x" + value.hex()
    return _csv_text(str(value))


def _csv_text(text: str) -> str:
    if text == "" or any(char in text for char in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _token(offset: int, statement_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([statement_id, offset]).encode()).decode()


def _offset(token: Any, statement_id: str) -> int:
    if token is None:
        return 0
    try:
        owner, offset = json.loads(base64.urlsafe_b64decode(str(token)))
    except (ValueError, TypeError, binascii.Error):
        raise _validation("NextToken is not valid.") from None
    if owner != statement_id or not isinstance(offset, int) or offset < 0:
        raise _validation("NextToken is not valid for this statement.")
    return offset


def _paged(items: list[Any], params: dict[str, Any], kind: str) -> tuple[list[Any], str | None]:
    limit = params.get("MaxResults") or _LIST_LIMIT
    if not isinstance(limit, int) or not 0 <= limit <= _LIST_LIMIT:
        raise _validation(f"MaxResults must be between 0 and {_LIST_LIMIT}.")
    start = _offset(params.get("NextToken"), kind)
    end = start + limit
    return items[start:end], _token(end, kind) if end < len(items) else None
