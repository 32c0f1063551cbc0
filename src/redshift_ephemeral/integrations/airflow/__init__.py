"""The Airflow provider: the ``redshift_ephemeral`` connection type and its hook.

``provider.get_provider_info`` is the ``apache_airflow_provider`` entry point;
``connection`` maps an Airflow connection to this library's options (no Airflow needed);
``hooks.RedshiftEphemeralHook`` is the ``DbApiHook``. See ``docs/airflow.md``.
"""
