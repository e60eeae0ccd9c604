"""What lasts between runs: the SQLite store (`db`: items, feed state, caches, deliveries,
notes), the run history (`runs`: every run, its tasks and its calls), and the one-run-per-crew
lock (`locks`).

May import config, errors and text.
"""
