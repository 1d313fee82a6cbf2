"""Ground-truth evaluations: `sleuth eval find` (planted token functions) and `sleuth eval heads`.

The default suite lives in `find/` (YAML, the predicate language); any folder of the same
format can be passed with --suite. Results go to a scoreboard and a history file.
"""
