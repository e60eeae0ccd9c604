"""Runs on a clock: cron expressions, the daemon, cron/systemd install.

May import store, config, text and errors; it starts runs as child processes and never
imports the run graph, the crew or llm.
"""
