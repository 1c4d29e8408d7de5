class PhoneNumber:
    def __init__(self, raw: str):
        raise NotImplementedError("implement PhoneNumber")

    def pretty(self) -> str:
        raise NotImplementedError("implement PhoneNumber.pretty()")
