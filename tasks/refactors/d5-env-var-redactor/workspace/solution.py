"""Print a JSON settings document with secret top-level values redacted (see the task statement)."""
raise NotImplementedError("write this script")
