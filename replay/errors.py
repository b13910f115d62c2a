"""Errors that livereplay reports to users as one line (exit status 2 from the CLI)."""


class ReplayError(Exception):
    """Base class: anything raised as a ReplayError is the user's input, not a bug."""


class LogFormatError(ReplayError):
    """A log file or log columns that cannot be read as `user, stream, streamer, start, stop`."""


class Interrupted(ReplayError):
    """A replay stopped by SIGINT or SIGTERM after writing a checkpoint (exit status 130)."""


class LearnerError(ReplayError):
    """A learner could not be found, built, or returned unusable scores."""
