def append(first, second):
    raise NotImplementedError("implement append()")


def concat(lists):
    raise NotImplementedError("implement concat()")


def filter(predicate, items):
    raise NotImplementedError("implement filter()")


def length(items):
    raise NotImplementedError("implement length()")


def map(function, items):
    raise NotImplementedError("implement map()")


def foldl(function, items, initial):
    raise NotImplementedError("implement foldl()")


def foldr(function, items, initial):
    raise NotImplementedError("implement foldr()")


def reverse(items):
    raise NotImplementedError("implement reverse()")
