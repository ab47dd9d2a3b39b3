"""Errors of the benchmark meant for the user (one line, exit status 2 at the command line)."""

from worldsim.errors import WorldsimError


class BenchError(WorldsimError):
    """Bad benchmark input: a missing manifest, an unreadable folder, a wrong version."""
