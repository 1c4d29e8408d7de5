from dataclasses import dataclass

TODO_LIST_LIMIT = 50  # a name, not a marker
_TODO = None  # neither is this


@dataclass
class Task:
    title: str
    done: bool = False  # TODO: add a due date
    # todo in lower case does not count, and neither do TODOs or XXXX
    # FIXME: validate the title length
    # FIXME(alice): store tags; XXX: and priorities


def complete(task: Task) -> Task:
    return Task(task.title, True)  # TODO
