"""User-facing errors: each carries one line that tells the user what to fix."""


class SleuthError(Exception):
    """An error caused by input or environment, shown to the user as one line."""

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(message.strip().splitlines()[0] if message.strip() else message)


class UnknownModelError(SleuthError):
    pass


class SiteError(SleuthError):
    """A malformed site, or one that does not exist on the loaded target."""


class CorpusError(SleuthError):
    pass


class ModelLoadError(SleuthError):
    pass


class ConfigError(SleuthError):
    pass
