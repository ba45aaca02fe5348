"""The release checks run the roles once from the tarball on the real engine, with the integration tests' fixtures."""

from tests.integration.conftest import engine, make_containers  # noqa: F401  (fixtures, found here by pytest)
