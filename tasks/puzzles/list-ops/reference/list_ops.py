"""List operations built from loops and list literals only."""


def append(first, second):
    result = []
    for item in first:
        result.append(item)
    for item in second:
        result.append(item)
    return result


def concat(lists):
    result = []
    for inner in lists:
        for item in inner:
            result.append(item)
    return result


def filter(predicate, items):
    return [item for item in items if predicate(item)]


def length(items):
    count = 0
    for _ in items:
        count += 1
    return count


def map(function, items):
    return [function(item) for item in items]


def foldl(function, items, initial):
    accumulator = initial
    for item in items:
        accumulator = function(accumulator, item)
    return accumulator


def foldr(function, items, initial):
    accumulator = initial
    for item in reverse(items):
        accumulator = function(item, accumulator)
    return accumulator


def reverse(items):
    result = []
    for item in items:
        result = [item] + result
    return result
