"""Schema fuzzing: schemathesis generates requests for every operation of the OpenAPI
schema (valid and invalid ones) and checks that none gets a server error and that every
response matches the schema (status code, content type, headers, body).

One check is left out: ``positive_data_acceptance`` expects every schema-valid request to
succeed, but some rules cannot be written in JSON Schema (the split's fractions sum to 1,
a dataset must exist, the queue has a limit); those requests get a documented 4xx, which
the other checks still hold to the schema."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from ssots.web import create_app
from ssots.web.security import allowed_hosts
from web_support import make_settings

pytestmark = pytest.mark.slow


_HOME = tempfile.TemporaryDirectory(prefix="ssots-fuzz-")  # removed when pytest exits
_APP = create_app(  # jobs stay queued: no workers; schemathesis's client says testserver
    make_settings(Path(_HOME.name), queue_limit=20),
    workers=0,
    allowed_hosts=allowed_hosts(["testserver"]),
)
schema = schemathesis.openapi.from_asgi("/openapi.json", _APP)


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_server_error_and_no_schema_violation(case: schemathesis.Case) -> None:
    case.call_and_validate(excluded_checks=[positive_data_acceptance])
