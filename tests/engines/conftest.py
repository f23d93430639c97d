"""The engines' fixtures, defined once for the directory: a session-scoped fixture imported into
two test modules would be two fixtures (two Ray heads)."""

from cloudrun_contract import cloudrun_server  # noqa: F401 - a fixture
from ray_helpers import ray_head  # noqa: F401 - a fixture
