"""The one exception type a user ever sees."""


class CheckpointError(Exception):
    """An error the user can act on. Its message is one sentence: what is wrong, and what to do.

    `exit_code` is what the command line exits with (2: usage or setup error).
    """

    exit_code = 2

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code

    @property
    def message(self) -> str:
        return str(self.args[0])
