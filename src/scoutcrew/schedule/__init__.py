"""Runs on a clock: cron expressions, the daemon, cron/systemd install, delivery and locks.

May import config, store and runs; it starts runs as subprocesses, never imports the pipeline.
"""
