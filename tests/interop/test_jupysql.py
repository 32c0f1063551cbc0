"""jupysql, unmodified in its own venv, run by the real ``ipython`` on a script of notebook
cells: ``%sql`` given nothing but a URL with ``plugin=redshift_ephemeral`` and the stack's
environment. It reconnects in each of three password lifetimes (after each time-scaled
expiry) and reads ``my_table``; no password is in the URL, its output or its files."""

from __future__ import annotations

from redshift_ephemeral.local import seed

from .conftest import Client, assert_succeeded

LIFETIME_SCALE = 1 / 600  # 900 s → 1.5 s
LIFETIME_SECONDS = 900 * LIFETIME_SCALE
LIFETIMES = 3  # two expiries between them
URL = "postgresql+psycopg2://alice@/dev?plugin=redshift_ephemeral&db_group=analysts"

# What a notebook user types, cell by cell; the loop re-runs the connect, query and close
# cells once per password lifetime, as a user does after a dropped connection.
NOTEBOOK = f"""
import time
%load_ext sql
%config SqlMagic.displaylimit = 5
for lifetime in range({LIFETIMES}):
    if lifetime:
        time.sleep({LIFETIME_SECONDS + 0.3})
    %sql {URL} --alias redshift
    result = %sql SELECT COUNT(*) AS n, current_user AS who FROM my_table
    frame = result.DataFrame()
    print("rows", int(frame["n"][0]), "as", frame["who"][0])
    %sql --close redshift
"""  # noqa: S608 - a notebook's cells, not SQL built from input


def test_jupysql_connects_by_url_in_every_password_lifetime(client: Client) -> None:
    client.stack.set_knobs(time_scale=LIFETIME_SCALE)
    script = client.home / "notebook.ipy"
    script.write_text(NOTEBOOK)
    result = client.run(["ipython", "--no-banner", str(script)], venv="jupysql")
    assert_succeeded(result)
    lines = [line for line in result.stdout.splitlines() if line.startswith("rows")]
    assert lines == [f"rows {seed.TABLE_ROWS} as IAM:alice"] * LIFETIMES, result.stdout
    assert "password" not in result.stdout + result.stderr
    # One password per lifetime, each fetched when the one before had expired.
    assert client.stack.calls()["redshift:GetClusterCredentials"] == LIFETIMES
