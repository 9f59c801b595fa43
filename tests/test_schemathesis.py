"""Property-based run of schemathesis against /openapi.json, through the ASGI app, with the real model on a
copy of the default corpus. Positive and negative cases on every documented operation, writes included
(with the API key), bounded to a few hundred cases. Checks: no 5xx, documented status codes, content types,
headers, and every response body matching its schema."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from api.config import ApiConfig
from qa.engine import Engine
from tests.conftest import private_engine

pytestmark = pytest.mark.slow

KEY = "schemathesis-key"
EXAMPLES_PER_OPERATION = 40  # 8 operations positive + 6 with inputs negative -> about 420 cases, under a minute
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
Case = tuple[str, str, str, int]  # (method, path, mode, status) of one case run


@pytest.fixture(scope="module")
def api_schema(default_engine: Engine, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("schemathesis")
    engine = private_engine(default_engine, root)
    app = create_app(engine, ApiConfig(api_key=KEY))
    config = SchemathesisConfig.from_dict(
        {
            "seed": 20261122,
            "generation": {"mode": "all", "max-examples": EXAMPLES_PER_OPERATION},
            "headers": {"Authorization": f"Bearer {KEY}"},
        }
    )
    return schemathesis.openapi.from_asgi("/openapi.json", app, config=config)


def _run(operation, mode: GenerationMode, cases: list[Case]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def check(case) -> None:
        response = case.call(headers={"Authorization": f"Bearer {KEY}"})
        cases.append((case.method, case.path, mode.value, response.status_code))
        case.validate_response(response, checks=CHECKS)

    check()


class Campaign:
    """Each generation mode's cases, run once per module whichever test asks first (so every test of this file
    also passes alone, e.g. under `-k test_cases_were_run`)."""

    def __init__(self, schema) -> None:
        self.schema = schema
        self.done: dict[GenerationMode, list[Case]] = {}

    def run(self, mode: GenerationMode) -> list[Case]:
        if mode not in self.done:
            operations = [result.ok() for result in self.schema.get_all_operations()]
            assert len(operations) == 8, [o.label for o in operations]
            cases: list[Case] = []
            for operation in operations:
                has_input = bool(list(operation.body) or list(operation.path_parameters) or list(operation.query))
                if mode is GenerationMode.NEGATIVE and not has_input:
                    continue  # nothing to make invalid (GET /v1/documents, GET /v1/examples, GET /health)
                _run(operation, mode, cases)
            self.done[mode] = cases  # only a run that passed every check is kept
        return self.done[mode]


@pytest.fixture(scope="module")
def campaign(api_schema) -> Campaign:
    return Campaign(api_schema)


# schemathesis's pytest plugin (`from_fixture` + `parametrize`) fails on pytest 9 (`Function._nodeid`), so the
# operations are driven through hypothesis directly: one test per generation mode.
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_api_conforms_to_its_schema(campaign: Campaign, mode: GenerationMode) -> None:
    cases = campaign.run(mode)
    assert cases and all(m == mode.value for _, _, m, _ in cases)


def test_cases_were_run(campaign: Campaign, capsys: pytest.CaptureFixture[str]) -> None:
    """Both modes' cases (run here if no other test of the file ran them): on every operation, and how many."""
    cases = campaign.run(GenerationMode.POSITIVE) + campaign.run(GenerationMode.NEGATIVE)
    operations = {(m, p) for m, p, _, _ in cases}
    with capsys.disabled():
        print(
            f"\nschemathesis: {len(cases)} cases on {len(operations)} operations; statuses "
            f"{sorted({s for *_, s in cases})}"
        )
    assert len(operations) >= 8, operations
    assert len(cases) >= 100
    assert all(s < 500 for *_, s in cases)
