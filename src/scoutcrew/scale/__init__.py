"""Many crews at once: a local process pool and Ray across Ollama hosts.

May import the pipeline and everything below it.
"""
