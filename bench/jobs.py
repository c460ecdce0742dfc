"""The reference job of the job-overhead figure: RQ's cost with no work (``bench.jobs.noop``)."""


def noop() -> None:
    """Does nothing; a bare RQ job on the same worker class as the order jobs."""
