def translate(text: str) -> str:
    raise NotImplementedError("implement translate()")
