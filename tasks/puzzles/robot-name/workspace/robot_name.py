class Robot:
    def __init__(self, rng=None):
        raise NotImplementedError("implement Robot")

    @property
    def name(self) -> str:
        raise NotImplementedError("implement Robot.name")

    def reset(self) -> None:
        raise NotImplementedError("implement Robot.reset()")

    @classmethod
    def release_all_names(cls) -> None:
        raise NotImplementedError("implement Robot.release_all_names()")
