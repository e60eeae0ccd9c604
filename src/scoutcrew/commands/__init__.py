"""The CLI's command groups, one module each (schedule, batch, serve), and the progress line.

These are the only modules, with cli.py, that turn errors into exit codes. They may import
any part of the package; only cli.py imports them.
"""
