# TODO: authentication
# TODO: pagination
ROUTES = {}


def route(path):  # XXX slow for many routes
    def register(handler):
        ROUTES[path] = handler
        return handler
    return register
