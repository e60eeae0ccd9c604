"""Many crews at once: a local process pool and Ray across Ollama hosts.

May import the run graph and everything below it.
"""
