# FIXME: remove this module after the migration
# FIXME: really remove it


def index():
    return "legacy"
