"""Integrations with tools that load this library themselves (Airflow's provider). The
library never imports them (an import contract in ``pyproject.toml``); they use its public
surface only."""
