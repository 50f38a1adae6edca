"""The one exception type a user ever sees."""


class CheckpointError(Exception):
    """An error the user can act on. Its message is one sentence: what is wrong, and what to do.

    `exit_code` is what the command line exits with (2: usage or setup error). An error made from the
    catalog (`checkpoint.catalog.error`) also carries its catalog `key` and `key_values`, so a front end can
    say it in the user's language; `message` is always the English sentence.
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        exit_code: int | None = None,
        key: str | None = None,
        values: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code
        self.key = key
        self.key_values = dict(values or {})

    @property
    def message(self) -> str:
        return str(self.args[0])
