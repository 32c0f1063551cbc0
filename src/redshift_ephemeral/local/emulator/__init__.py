"""An AWS control-plane emulator on loopback that an unmodified boto3 client reaches through
``endpoint_url``.

moto's server answers what moto implements (CreateCluster, DescribeClusters, STS, IAM); this
WSGI layer in front of it answers what moto lacks or must do differently. Where to look:

* ``app.py`` - the WSGI application: routing, and the order of checks every call goes through;
* ``protocols.py`` - the wire formats: query (form in, XML out) and JSON, results and errors
  in AWS's shapes, so botocore raises what it would raise against AWS;
* ``redshift.py``, ``redshift_serverless.py``, ``sts.py`` - one module per service, each
  operation's handler listed in its ``operations()``; credential calls issue passwords
  through ``logins.py`` (the database side: login roles, the endpoint's password record);
* ``auth.py`` - SigV4 authentication and IAM policy evaluation for every call, moto's too;
* ``passthrough.py`` - what is left to moto, and the forwarding, endpoints rewritten to the
  stack's Redshift endpoint;
* ``validation.py``, ``faults.py`` - AWS's parameter rules and error codes;
* ``knobs.py``, ``control.py`` - time scale, latency, throttling, outage and call counts,
  and the token-protected ``/_local/`` API that turns and reads them.
"""

from __future__ import annotations

from .app import Emulator
from .knobs import Knobs

__all__ = ["Emulator", "Knobs"]
