"""The base class of errors whose message is meant for the user, not a traceback.

The command line prints such an error in one line and exits with status 2; anything
else is a bug and keeps its traceback.
"""


class WorldsimError(RuntimeError):
    """A failure the user can act on; the message says what happened and what to do."""
