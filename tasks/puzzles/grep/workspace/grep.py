def grep(pattern: str, flags: str, files: list[str]) -> str:
    raise NotImplementedError("implement grep()")
