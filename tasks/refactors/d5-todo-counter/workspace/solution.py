"""Count TODO/FIXME/XXX markers per directory under tree/ (see the task statement)."""
raise NotImplementedError("write this script")
